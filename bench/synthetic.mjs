/**
 * Synthetic revocations for benchmarks and large-CRL tests: inserts N certificate rows and N revocations into a pki
 * store in one transaction, the way `pki revoke` records them (each CRL entry encoded by pki's own encoder).
 * Serials are 16 bytes, like pki's; every `reasonEvery`-th entry carries keyCompromise, the rest unspecified.
 * The certificate rows carry a placeholder DER (a 1-byte blob): they exist so that revocations reference them.
 * Returns the serials (lowercase hex) in insertion order.
 */
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';

/** A serial like pki's own: 16 random octets, top bits 01. */
function newSerialHex() {
  const b = randomBytes(16);
  b[0] = (b[0] & 0x3f) | 0x40;
  return b.toString('hex');
}

/** The statement that inserts a placeholder certificate row (issuer, serial, subject, notBefore, notAfter, createdAt). */
function insertCertificate(db) {
  return db.prepare(
    `INSERT INTO certificate (issuer_id, serial, subject, sans, not_before, not_after, profile, is_ca, der, requested_by, source, created_at)
     VALUES (?, ?, ?, '[]', ?, ?, 'synthetic', 0, X'00', 'synthetic', 'synthetic', ?)`,
  );
}

export async function populateRevocations(dbPath, caName, count, { reasonEvery = 0, revokedAt = new Date(), notAfter = new Date(Date.now() + 365 * 86400e3), encodeCrlEntry }) {
  const db = new Database(dbPath);
  try {
    const issuer = db.prepare('SELECT id FROM ca WHERE name = ?').pluck().get(caName);
    if (issuer === undefined) throw new Error(`no CA ${caName}`);
    const cert = insertCertificate(db);
    const rev = db.prepare(
      `INSERT INTO revocation (issuer_id, serial, reason, revoked_at, invalidity_date, cert_not_after, entry_der, entry_der_no_reason, created_at)
       VALUES (?, ?, ?, ?, NULL, ?, ?, ?, ?)`,
    );
    const now = Math.floor(Date.now() / 1000);
    const revSec = Math.floor(revokedAt.getTime() / 1000);
    const naSec = Math.floor(notAfter.getTime() / 1000);
    const serials = [];
    db.transaction(() => {
      for (let i = 0; i < count; i++) {
        const serial = newSerialHex();
        const reason = reasonEvery && i % reasonEvery === 0 ? 1 : 0;
        cert.run(issuer, serial, `CN=synthetic-${i}`, revSec - 86400, naSec, now);
        const withReason = encodeCrlEntry(serial, revokedAt, reason, null);
        rev.run(issuer, serial, reason, revSec, naSec, withReason, reason ? encodeCrlEntry(serial, revokedAt, null, null) : null, now);
        serials.push(serial);
      }
      db.prepare('UPDATE ca SET revocation_epoch = revocation_epoch + 1, revocation_count = revocation_count + ? WHERE id = ?').run(count, issuer);
    })();
    return serials;
  } finally {
    db.close();
  }
}

/** N certificate rows (no revocations) for issuer `caName`; returns their serials. */
export function populateCertificates(dbPath, caName, count, { notAfter = new Date(Date.now() + 365 * 86400e3) } = {}) {
  const db = new Database(dbPath);
  try {
    const issuer = db.prepare('SELECT id FROM ca WHERE name = ?').pluck().get(caName);
    const cert = insertCertificate(db);
    const now = Math.floor(Date.now() / 1000);
    const serials = [];
    db.transaction(() => {
      for (let i = 0; i < count; i++) {
        serials.push(newSerialHex());
        cert.run(issuer, serials[i], `CN=synthetic-${i}`, now - 86400, Math.floor(notAfter.getTime() / 1000), now);
      }
    })();
    return serials;
  } finally {
    db.close();
  }
}
