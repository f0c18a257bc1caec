import { joinNode } from '../../app/node.js';
import { flagsIn } from '../output/flags.js';
import type { CommandDef, CommandGroup } from '../command.js';

const join: CommandDef = {
  command: 'join',
  describe: 'Make --dir another CA node of a PKI whose store is a shared PostgreSQL database: same CAs, same records',
  examples: [
    ['pki node join --dir ./node-b --store postgres://pki@db.example/pki?sslmode=verify-full', 'a second node; the password comes from PGPASSFILE, ~/.pgpass or PGPASSWORD'],
    ['PKI_STORE_URL=postgres://pki@db.example/pki pki node join --dir ./node-c --json', 'the URL from the environment; the CAs and what this node needs, as JSON'],
  ],
  notes:
    'Writes DIR/pki.yaml (store.url: the database; 0600 when the URL holds a password, which is never printed) and an\n' +
    'empty DIR/keys. The join is recorded in the shared audit log (action node.join: this host and DIR, the store URL\n' +
    'with its password redacted; pki audit log on any node shows it). The first node is made with pki init --store URL.\n' +
    'CA keys: a CA made on a shared store keeps its key IN the store (encrypted PKCS#8, key reference store:NAME), so\n' +
    'every node can sign with it given the operators\' passphrase (a prompt, PKI_CA_PASSPHRASE or --passphrase-file);\n' +
    'a pkcs11: key needs this node\'s own HSM holding the key; a key that is a file on another node must be copied.\n' +
    'The output lists each CA and what this node needs to use it. Every command then works from either node with\n' +
    'the same semantics; CRL numbers stay strictly increasing per CA when nodes generate at once (an advisory lock).\n' +
    'Errors: STATE_STORE_EMPTY (exit 6, run pki init --store first), STORE_UNAVAILABLE (exit 12), STATE_STORE_TOO_NEW.',
  builder: (y) =>
    y.options({
      store: { type: 'string', describe: 'the shared store: postgres://USER@HOST[:PORT]/DB[?sslmode=verify-full] (default $PKI_STORE_URL)' },
      'pbkdf2-iterations': { type: 'number', describe: 'PBKDF2 iterations for keys this node encrypts (default 600000)' },
    }),
  async run(a, { deps }) {
    // What a node needs names the flag that gives a CA's passphrase to the commands that sign.
    const r = flagsIn(await joinNode(deps, { dir: a.dir, store: a.store, pbkdf2Iterations: a.pbkdf2Iterations }), ['passphraseFile']);
    return {
      kind: 'pki.node.join.result',
      data: r,
      text:
        `Joined ${r.store} as a CA node in ${r.dir} (audit row #${r.audit.seq})\n` +
        r.cas.map((c) => `  CA ${c.name.padEnd(16)} ${c.status.padEnd(8)} key ${c.keyRef} (${c.access})\n`).join('') +
        `This node needs:\n${r.needs.map((n) => `  - ${n}\n`).join('')}`,
    };
  },
};

export const nodeGroup: CommandGroup = { command: 'node', describe: 'CA nodes sharing one PostgreSQL store: join', subcommands: [join] };
