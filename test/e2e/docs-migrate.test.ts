import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers.js';

const EASYRSA = ['/usr/share/easy-rsa/easyrsa', '/usr/bin/easyrsa'].some((p) => fs.existsSync(p));

describe('migration runbooks', () => {
  it('examples/migrate-from-*.md are generated from steps that still run as documented', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts/migrate-runbooks.mjs'), '--check'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('checked examples/migrate-from-openssl.md');
    expect(r.stderr).toContain('checked examples/migrate-from-cfssl.md');
    if (EASYRSA) expect(r.stderr).toContain('checked examples/migrate-from-easy-rsa.md');
    const readme = fs.readFileSync(join(ROOT, 'README.md'), 'utf8');
    const want: Record<string, string[]> = {
      'migrate-from-openssl.md': ['$ pki import openssl-ca --name legacy', '$ pki crl generate --ca legacy', 'STATE_CRL_HISTORY_UNKNOWN', 'certificate revoked'],
      'migrate-from-easy-rsa.md': ['$ pki import easy-rsa --name vpn', 'certificate revoked'],
      'migrate-from-cfssl.md': ['$ pki import cfssl --name legacy', '$ pki profile import cfssl', '$ pki csr --from-cfssl', 'did you mean \\"IN\\"?', 'certificate revoked'],
    };
    for (const [file, needles] of Object.entries(want)) {
      const text = fs.readFileSync(join(ROOT, 'examples', file), 'utf8');
      for (const n of needles) expect(text, `${file}: ${n}`).toContain(n.replace('\\"IN\\"', '"IN"'));
      expect(readme).toContain(`examples/${file}`);
    }
  });
});
