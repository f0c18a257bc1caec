/** The SQLite store's PublishingRepository (src/ports.ts): trust anchors, the CRLs published on them, and publishing targets. */
import { PkiError } from '../../../errors.js';
import type { AnchorRecord, TargetRecord, AuditEvent, PublishedCrl, PublishingRepository } from '../../../ports.js';
import { anchorFromRow, publishedFromRow, targetFromRow, toSec, type AnchorRow, type PublishedCrlRow, type TargetRow } from '../rows.js';
import type { SqliteConnection } from './connection.js';

export class SqlitePublishingRepository implements PublishingRepository {
  constructor(private readonly c: SqliteConnection) {}

  async getAnchor(name: string): Promise<AnchorRecord | undefined> {
    await this.c.gate.idle();
    const r = this.c.sql('SELECT * FROM anchor WHERE name = ?').get(name) as AnchorRow | undefined;
    return r && anchorFromRow(r);
  }

  async listAnchors(): Promise<AnchorRecord[]> {
    await this.c.gate.idle();
    return (this.c.sql('SELECT * FROM anchor ORDER BY name').all() as AnchorRow[]).map(anchorFromRow);
  }

  async saveAnchor(a: AnchorRecord, audit: AuditEvent, actor: string, at: Date): Promise<void> {
    await this.c.gate.idle();
    this.c.db.transaction(() => {
      this.c.sql(
        `INSERT INTO anchor (name, arn, trust_anchor_id, region, ca_names, bundle_sha256, updated_at, target, anchor_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET arn = excluded.arn, trust_anchor_id = excluded.trust_anchor_id, region = excluded.region,
           ca_names = excluded.ca_names, bundle_sha256 = excluded.bundle_sha256, updated_at = excluded.updated_at,
           target = excluded.target, anchor_name = excluded.anchor_name`,
      ).run(a.name, a.arn, a.trustAnchorId, a.region, JSON.stringify(a.caNames), a.bundleSha256, toSec(a.updatedAt), a.target ?? '', a.anchorName ?? a.name);
      this.c.appendAudit(audit, actor, at);
    }).immediate();
  }

  async getPublishedCrl(anchorName: string, issuerId: number): Promise<PublishedCrl | undefined> {
    await this.c.gate.idle();
    const r = this.c.sql('SELECT * FROM published_crl WHERE anchor_name = ? AND issuer_id = ?').get(anchorName, issuerId) as PublishedCrlRow | undefined;
    return r && publishedFromRow(r);
  }

  async listPublishedCrls(anchorName: string): Promise<PublishedCrl[]> {
    await this.c.gate.idle();
    return (this.c.sql('SELECT * FROM published_crl WHERE anchor_name = ? ORDER BY issuer_id').all(anchorName) as PublishedCrlRow[]).map(publishedFromRow);
  }

  async savePublishedCrl(p: PublishedCrl, audit: AuditEvent, actor: string, at: Date): Promise<void> {
    await this.c.gate.idle();
    this.c.db.transaction(() => {
      this.c.sql(
        `INSERT INTO published_crl (anchor_name, issuer_id, crl_id, crl_arn, crl_number, sha256, published_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (anchor_name, issuer_id) DO UPDATE SET crl_id = excluded.crl_id, crl_arn = excluded.crl_arn, crl_number = excluded.crl_number,
           sha256 = excluded.sha256, published_at = excluded.published_at`,
      ).run(p.anchorName, p.issuerId, p.crlId, p.crlArn, p.crlNumber, p.sha256, toSec(p.publishedAt));
      this.c.appendAudit(audit, actor, at);
    }).immediate();
  }

  async deletePublishedCrl(anchorName: string, issuerId: number, audit: AuditEvent, actor: string, at: Date): Promise<void> {
    await this.c.gate.idle();
    this.c.db.transaction(() => {
      this.c.sql('DELETE FROM published_crl WHERE anchor_name = ? AND issuer_id = ?').run(anchorName, issuerId);
      this.c.appendAudit(audit, actor, at);
    }).immediate();
  }

  async listTargets(): Promise<TargetRecord[]> {
    await this.c.gate.idle();
    return (this.c.sql('SELECT * FROM target ORDER BY name').all() as TargetRow[]).map(targetFromRow);
  }

  async getTarget(name: string): Promise<TargetRecord | undefined> {
    await this.c.gate.idle();
    const r = this.c.sql('SELECT * FROM target WHERE name = ?').get(name) as TargetRow | undefined;
    return r && targetFromRow(r);
  }

  async addTarget(t: TargetRecord, audit: AuditEvent, actor: string, at: Date): Promise<void> {
    await this.c.gate.idle();
    this.c.db.transaction(() => {
      if (this.c.sql('SELECT name FROM target WHERE name = ?').get(t.name)) throw new PkiError('USAGE_TARGET_EXISTS', `target ${t.name} already exists`, { hint: `pki target remove ${t.name} first to change it` });
      this.c.sql('INSERT INTO target (name, region, account, aws_profile, role_arn, endpoint, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(t.name, t.region, t.account, t.awsProfile, t.roleArn, t.endpoint, toSec(t.createdAt));
      this.c.appendAudit(audit, actor, at);
    }).immediate();
  }

  async removeTarget(name: string, audit: AuditEvent, actor: string, at: Date): Promise<void> {
    await this.c.gate.idle();
    this.c.db.transaction(() => {
      this.c.sql('DELETE FROM target WHERE name = ?').run(name);
      this.c.appendAudit(audit, actor, at);
    }).immediate();
  }
}
