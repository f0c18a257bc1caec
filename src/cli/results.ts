/**
 * The JSON contract of `pki --json` (docs/json.md): for every command, the type of `data` in its envelope
 * `{ ok, kind, version, data }`, declared. GENERATED from the commands' result types by
 *   UPDATE_JSON_CONTRACT=1 npx vitest run test/unit/json-contract.test.ts
 * and checked by that test: a change to what a command returns fails it until this file is regenerated, and the
 * diff is the contract change to review (docs/json.md says when it needs a new JSON_CONTRACT_VERSION). Do not edit by
 * hand.
 */

/** The `version` of every envelope. A field removed, renamed or retyped is a new version; a field added is not. */
export const JSON_CONTRACT_VERSION = 1;

/** A JSON shape: what `data` holds (a Date is an ISO string; `unknown` is any JSON value). */
export type Shape =
  | 'string'
  | 'number'
  | 'boolean'
  | 'null'
  | 'unknown'
  | { literal: string }
  | { array: Shape }
  | { record: Shape }
  | { union: Shape[] }
  | { object: Record<string, { shape: Shape; optional?: true }> };

/** `pki.anchor.bundle.result` */
export type AnchorBundleResultData = {
  cas: string[];
  chars: number;
  out: null | string;
  pem: string;
  sha256: string;
  warnings: string[];
};

/** `pki.anchor.push.result` */
export type AnchorPushResultData = {
  arn: null | string;
  calls: string[];
  dryRun: boolean;
  enabled: boolean;
  name: string;
} | {
  exitCode: number;
  name: string;
  ok: boolean;
  results: Array<{
    arn: null | string;
    calls: string[];
    dryRun?: boolean;
    enabled?: boolean;
    error?: {
      code: string;
      details: Record<string, unknown>;
      hint: null | string;
      message: string;
    };
    name: string;
    ok: boolean;
    target: string;
  }>;
};

/** `pki.anchor.status.result` */
export type AnchorStatusResultData = {
  arn: string;
  cas: string[];
  crls: Array<{
    ca: null | string;
    crlId?: string;
    crlNumber: null | number;
    enabled?: boolean;
    name?: string;
    nextUpdate: null | string;
  }>;
  enabled: boolean;
  exitCode: number;
  expected: string[][];
  findings: Array<{
    level: "critical" | "warning";
    message: string;
  }>;
  name: string;
  problems: string[];
  rotation: null | {
    new?: string;
    old?: string;
    phase: "aborted" | "aborting" | "finished" | "finishing" | "started" | "starting" | "switched";
  };
} | {
  exitCode: number;
  name: string;
  targets: Array<{
    account: null;
    arn: string;
    cas: string[];
    crls: Array<{
      ca: null | string;
      crlId?: string;
      crlNumber: null | number;
      enabled?: boolean;
      name?: string;
      nextUpdate: null | string;
    }>;
    enabled: boolean;
    error: null;
    exitCode: number;
    expected: string[][];
    findings: Array<{
      level: "critical" | "warning";
      message: string;
    }>;
    name: string;
    problems: string[];
    region: null | string;
    rotation: null | {
      new?: string;
      old?: string;
      phase: "aborted" | "aborting" | "finished" | "finishing" | "started" | "starting" | "switched";
    };
    target: string;
  } | {
    account: null;
    arn: null | string;
    crls: unknown[];
    enabled: null;
    error: {
      code: string;
      message: string;
    };
    exitCode: number;
    findings: Array<{
      level: "critical";
      message: string;
    }>;
    name: string;
    problems: string[];
    region: null | string;
    target: string;
  } | {
    account: string;
    arn: string;
    cas: string[];
    crls: Array<{
      ca: null | string;
      crlId?: string;
      crlNumber: null | number;
      enabled?: boolean;
      name?: string;
      nextUpdate: null | string;
    }>;
    enabled: boolean;
    error: null;
    exitCode: number;
    expected: string[][];
    findings: Array<{
      level: "critical" | "warning";
      message: string;
    }>;
    name: string;
    problems: string[];
    region: string;
    rotation: null | {
      new?: string;
      old?: string;
      phase: "aborted" | "aborting" | "finished" | "finishing" | "started" | "starting" | "switched";
    };
    target: string;
  } | {
    account: string;
    arn: null | string;
    crls: unknown[];
    enabled: null;
    error: {
      code: string;
      message: string;
    };
    exitCode: number;
    findings: Array<{
      level: "critical";
      message: string;
    }>;
    name: string;
    problems: string[];
    region: string;
    target: string;
  }>;
};

/** `pki.audit.head.result` */
export type AuditHeadResultData = {
  at: null;
  hash: null;
  head: null;
  seq: number;
} | {
  at: string;
  hash: string;
  head: string;
  seq: number;
};

/** `pki.audit.log.result` */
export type AuditLogResultData = Array<{
  action: string;
  actor: string;
  at: string;
  details: Record<string, unknown>;
  hash: string;
  seq: number;
  target: string;
}>;

/** `pki.audit.verify.result` */
export type AuditVerifyResultData = {
  exitCode: number;
  firstBroken: null | {
    reason: string;
    seq: number;
  };
  head: null | {
    hash: string;
    seq: number;
    text: string;
  };
  headCheck: null | {
    head: string;
    problem: null | string;
  };
  intact: boolean;
  mismatches: string[];
  rows: number;
};

/** `pki.aws.config.result` */
export type AwsConfigResultData = {
  chainedProfile?: string;
  config: string;
  credentialProcess: string;
  profile: string;
  profileArn: string;
  region: string;
  roleArn: string;
  trustAnchorArn: string;
};

/** `pki.aws.profile.result` */
export type AwsProfileResultData = {
  attributeMappings: Record<string, string[]>;
  calls: string[];
  durationSeconds: null | number;
  enabled: boolean;
  name: string;
  profileArn: string;
  roleArns: string[];
  target: string;
};

/** `pki.aws.trust-policy.result` */
export type AwsTrustPolicyResultData = {
  anchor: string;
  anchorArn: string;
  checked: null | {
    serial: string;
    subject: string;
  };
  policy: {
    Statement: Array<{
      Action: string[];
      Condition: Record<string, Record<string, string | string[]>>;
      Effect: string;
      Principal: {
        Service: string;
      };
      Sid: string;
    }>;
    Version: string;
  };
  target: string;
};

/** `pki.backup.result` */
export type BackupResultData = {
  auditHead: null | string;
  bytes: number;
  cas: number;
  createdAt: string;
  files: number;
  out: string;
  sha256: string;
};

/** `pki.ca.create.result` */
export type CaCreateResultData = {
  keyEncrypted: boolean;
  keyFile: string;
  keyType: "ecdsa-p256" | "ecdsa-p384" | "ecdsa-p521" | "ml-dsa-44" | "ml-dsa-65" | "ml-dsa-87" | "rsa-2048" | "rsa-3072" | "rsa-4096";
  name: string;
  notAfter: null | string;
  notBefore: null | string;
  parent: null | string;
  serial: null | string;
  sha256: null | string;
  status: "active" | "pending" | "retired" | "revoked";
  subject: string;
};

/** `pki.ca.csr.result` */
export type CaCsrResultData = {
  csr: string;
  csrPem: string;
  keyEncrypted: boolean;
  keyFile: string;
  keyType: "ecdsa-p256" | "ecdsa-p384" | "ecdsa-p521" | "ml-dsa-44" | "ml-dsa-65" | "ml-dsa-87" | "rsa-2048" | "rsa-3072" | "rsa-4096";
  name: string;
  notAfter: null | string;
  notBefore: null | string;
  parent: null | string;
  serial: null | string;
  sha256: null | string;
  status: "active" | "pending" | "retired" | "revoked";
  subject: string;
};

/** `pki.ca.export.result` */
export type CaExportResultData = {
  certificates: number;
  name: string;
  out: null | string;
  pem: string;
};

/** `pki.ca.import.result` */
export type CaImportResultData = {
  externalIssuer: boolean;
  keyEncrypted: boolean;
  keyFile: string;
  keyType: "ecdsa-p256" | "ecdsa-p384" | "ecdsa-p521" | "ml-dsa-44" | "ml-dsa-65" | "ml-dsa-87" | "rsa-2048" | "rsa-3072" | "rsa-4096";
  name: string;
  notAfter: null | string;
  notBefore: null | string;
  parent: null | string;
  selfSigned: boolean;
  serial: null | string;
  sha256: string;
  status: "active" | "pending" | "retired" | "revoked";
  subject: string;
};

/** `pki.ca.list.result` */
export type CaListResultData = Array<{
  expired: boolean;
  keyEncrypted: boolean;
  keyFile: string;
  keyType: "ecdsa-p256" | "ecdsa-p384" | "ecdsa-p521" | "ml-dsa-44" | "ml-dsa-65" | "ml-dsa-87" | "rsa-2048" | "rsa-3072" | "rsa-4096";
  name: string;
  notAfter: null | string;
  notBefore: null | string;
  parent: null | string;
  pathLen: null | number;
  retiredAt: null | string;
  serial: null | string;
  sha256: null | string;
  status: "active" | "pending" | "retired" | "revoked";
  statusDetail: string;
  subject: string;
}>;

/** `pki.ca.retire.result` */
export type CaRetireResultData = {
  cas: Array<{
    name: string;
    status: string;
  }>;
  name: string;
  retired: string[];
  unchanged: string[];
  warnings: string[];
};

/** `pki.ca.sign.result` */
export type CaSignResultData = {
  issuer: string;
  notAfter: string;
  notBefore: string;
  out: string;
  pathLen: null | number;
  pem: string;
  serial: string;
  subject: string;
};

/** `pki.credential-process.result` */
export type CredentialProcessResultData = {
  AccessKeyId: string;
  Expiration: string;
  SecretAccessKey: string;
  SessionToken: string;
  Version: number;
};

/** `pki.credential.serve.result` */
export type CredentialServeResultData = {
  port: number;
  roleName: string;
  url: string;
};

/** `pki.credential.update.result` */
export type CredentialUpdateResultData = {
  expiration: null | string;
  file: string;
  profile: string;
  writes: number;
};

/** `pki.crl.check.result` */
export type CrlCheckResultData = {
  budgetBytes: number;
  crlNumber: null;
  entries: number;
  exitCode: number;
  nextUpdate: null;
  pemBytes: number;
  problems: string[];
  signatureValid: null;
  source: string;
  status: "critical";
  thisUpdate: null;
} | {
  budgetBytes: number;
  crlNumber: null | string;
  entries: number;
  exitCode: number;
  nextUpdate: null | string;
  pemBytes: number;
  problems: string[];
  signatureValid: boolean | null;
  source: string;
  status: "critical" | "fresh" | "warning";
  thisUpdate: string;
};

/** `pki.crl.export.result` */
export type CrlExportResultData = {
  budgetBytes: number;
  budgetPercent: number;
  ca: string;
  crlNumber: number;
  derBase64?: string;
  derBytes: number;
  entries: number;
  format: "der" | "pem";
  nextUpdate: string;
  out: null | string;
  pem?: string;
  pemBytes: number;
  pruned: number;
  reasons: string;
  sha256: string;
  thisUpdate: string;
};

/** `pki.crl.generate.result` */
export type CrlGenerateResultData = {
  crl: {
    budgetBytes: number;
    budgetPercent: number;
    ca: string;
    crlNumber: number;
    derBytes: number;
    entries: number;
    nextUpdate: string;
    pemBytes: number;
    pruned: number;
    reasons: string;
    sha256: string;
    thisUpdate: string;
  };
  der?: unknown;
  format: "der" | "pem";
  generated: boolean;
  out: null | string;
  pem?: string;
  warnings: string[];
} | {
  crl: {
    budgetBytes: number;
    budgetPercent: number;
    ca: string;
    crlNumber: number;
    derBytes: number;
    entries: number;
    nextUpdate: string;
    pemBytes: number;
    pruned: number;
    reasons: string;
    sha256: string;
    thisUpdate: string;
  };
  derBase64?: string;
  format: "der" | "pem";
  generated: boolean;
  out: null | string;
  pem?: string;
  warnings: string[];
} | {
  crl: {
    budgetBytes: number;
    budgetPercent: number;
    ca: string;
    crlNumber: number;
    derBytes: number;
    entries: number;
    nextUpdate: string;
    pemBytes: number;
    pruned: number;
    reasons: string;
    sha256: string;
    thisUpdate: string;
  };
  format: "der" | "pem";
  generated: boolean;
  out: null | string;
  reason: string;
  rewrote: null | "different" | "missing";
} | {
  crl: {
    budgetBytes: number;
    budgetPercent: number;
    ca: string;
    crlNumber: number;
    derBytes: number;
    entries: number;
    nextUpdate: string;
    pemBytes: number;
    pruned: number;
    reasons: string;
    sha256: string;
    thisUpdate: string;
  };
  generated: boolean;
  reason: string;
};

/** `pki.crl.inspect.result` */
export type CrlInspectResultData = {
  authorityKeyId: null | string;
  crlNumber: null | string;
  derBytes: number;
  entries: number;
  file: string;
  issuer: string;
  nextUpdate: null | string;
  pemBytes: number;
  reasons: Record<string, number>;
  revoked?: Array<{
    invalidityDate: null | string;
    reason: null | string;
    revocationDate: string;
    serial: string;
  }>;
  signatureAlgorithm: string;
  signatureValid: boolean | null;
  thisUpdate: string;
  version: number;
};

/** `pki.crl.list.result` */
export type CrlListResultData = Array<{
  budgetBytes: number;
  budgetPercent: number;
  ca: string;
  crlNumber: number;
  derBytes: number;
  entries: number;
  nextUpdate: string;
  pemBytes: number;
  pruned: number;
  reasons: string;
  sha256: string;
  thisUpdate: string;
}>;

/** `pki.crl.publish.result` */
export type CrlPublishResultData = {
  exitCode: number;
  ok: boolean;
  results: Array<{
    action?: "dry-run" | "imported" | "re-enabled" | "re-imported" | "recovered" | "replaced" | "unchanged" | "updated";
    anchor: string;
    arn?: null | string;
    ca: string;
    calls: string[];
    crlId?: string;
    crlNumber?: number;
    error?: {
      code: string;
      details: Record<string, unknown>;
      hint: null | string;
      message: string;
    };
    found?: string[];
    ok: boolean;
    target?: string;
  }>;
};

/** `pki.csr.result` */
export type CsrResultData = {
  keyOut: string;
  keyRef: string;
  keyType: "ecdsa-p256" | "ecdsa-p384" | "ecdsa-p521" | "ml-dsa-44" | "ml-dsa-65" | "ml-dsa-87" | "rsa-2048" | "rsa-3072" | "rsa-4096";
  out: string;
  sans: string[];
  subject: string;
} | {
  keyOut: string;
  keyType: "ecdsa-p256" | "ecdsa-p384" | "ecdsa-p521" | "ml-dsa-44" | "ml-dsa-65" | "ml-dsa-87" | "rsa-2048" | "rsa-3072" | "rsa-4096";
  out: string;
  sans: string[];
  subject: string;
};

/** `pki.emulator.serve.result` */
export type EmulatorServeResultData = {
  account: unknown;
  port: number;
  region: unknown;
  state: unknown;
  url: string;
};

/** `pki.import.cfssl.result` */
export type ImportCfsslResultData = {
  certificates: number;
  crlNumberSource: null | string;
  keyEncrypted: boolean;
  keyFile: string;
  keyType: "ecdsa-p256" | "ecdsa-p384" | "ecdsa-p521" | "ml-dsa-44" | "ml-dsa-65" | "ml-dsa-87" | "rsa-2048" | "rsa-3072" | "rsa-4096";
  knownSerials: number;
  name: string;
  nextCrlNumber: null | number;
  notAfter: null | string;
  notBefore: null | string;
  otherCas: number;
  parent: null | string;
  revocations: number;
  serial: null | string;
  sha256: null | string;
  status: "active" | "pending" | "retired" | "revoked";
  subject: string;
  tool: string;
};

/** `pki.import.easy-rsa.result` */
export type ImportEasyRsaResultData = {
  certificates: number;
  crlNumberSource: null | string;
  keyEncrypted: boolean;
  keyFile: string;
  keyType: "ecdsa-p256" | "ecdsa-p384" | "ecdsa-p521" | "ml-dsa-44" | "ml-dsa-65" | "ml-dsa-87" | "rsa-2048" | "rsa-3072" | "rsa-4096";
  knownSerials: number;
  name: string;
  nextCrlNumber: null | number;
  notAfter: null | string;
  notBefore: null | string;
  parent: null | string;
  revocations: number;
  serial: null | string;
  sha256: null | string;
  status: "active" | "pending" | "retired" | "revoked";
  subject: string;
  tool: string;
};

/** `pki.import.openssl-ca.result` */
export type ImportOpensslCaResultData = {
  certificates: number;
  crlNumberSource: null | string;
  keyEncrypted: boolean;
  keyFile: string;
  keyType: "ecdsa-p256" | "ecdsa-p384" | "ecdsa-p521" | "ml-dsa-44" | "ml-dsa-65" | "ml-dsa-87" | "rsa-2048" | "rsa-3072" | "rsa-4096";
  knownSerials: number;
  name: string;
  nextCrlNumber: null | number;
  notAfter: null | string;
  notBefore: null | string;
  parent: null | string;
  revocations: number;
  serial: null | string;
  sha256: null | string;
  status: "active" | "pending" | "retired" | "revoked";
  subject: string;
  tool: string;
};

/** `pki.init.result` */
export type InitResultData = {
  adopted: boolean;
  ca: {
    keyEncrypted: boolean;
    keyFile: string;
    keyType: "ecdsa-p256" | "ecdsa-p384" | "ecdsa-p521" | "ml-dsa-44" | "ml-dsa-65" | "ml-dsa-87" | "rsa-2048" | "rsa-3072" | "rsa-4096";
    name: string;
    notAfter: null | string;
    notBefore: null | string;
    parent: null | string;
    serial: null | string;
    sha256: null | string;
    status: "active" | "pending" | "retired" | "revoked";
    subject: string;
  };
  config: string;
  dir: string;
  store: string;
};

/** `pki.inspect.result` */
export type InspectResultData = {
  certificate: {
    authorityKeyId: null | string;
    basicConstraints: null | {
      ca: boolean;
      pathLen?: number;
    };
    extendedKeyUsage: null | string[];
    issuer: string;
    key: string;
    keyUsage: null | string[];
    notAfter: string;
    notBefore: string;
    rolesAnywhere: {
      dropped: Array<{
        reason: string;
        tag: string;
        value: string;
      }>;
      roleSessionName: string;
      sourceIdentity: string;
      tags: Record<string, string>;
    };
    sans: string[];
    selfSigned: boolean;
    serialDecimal: string;
    serialHex: string;
    sha1: string;
    sha256: string;
    signatureAlgorithm: string;
    subject: string;
    subjectKeyId: null | string;
    type: "certificate";
    validity: string;
    version: number;
  };
  type: "certificate";
} | {
  certificates: Array<{
    authorityKeyId: null | string;
    basicConstraints: null | {
      ca: boolean;
      pathLen?: number;
    };
    extendedKeyUsage: null | string[];
    issuer: string;
    key: string;
    keyUsage: null | string[];
    notAfter: string;
    notBefore: string;
    rolesAnywhere: {
      dropped: Array<{
        reason: string;
        tag: string;
        value: string;
      }>;
      roleSessionName: string;
      sourceIdentity: string;
      tags: Record<string, string>;
    };
    sans: string[];
    selfSigned: boolean;
    serialDecimal: string;
    serialHex: string;
    sha1: string;
    sha256: string;
    signatureAlgorithm: string;
    subject: string;
    subjectKeyId: null | string;
    type: "certificate";
    validity: string;
    version: number;
  }>;
  type: "bundle";
} | {
  crl: {
    authorityKeyId: null | string;
    crlNumber: null | string;
    derBytes: number;
    entries: number;
    file: string;
    issuer: string;
    nextUpdate: null | string;
    pemBytes: number;
    reasons: Record<string, number>;
    revoked?: Array<{
      invalidityDate: null | string;
      reason: null | string;
      revocationDate: string;
      serial: string;
    }>;
    signatureAlgorithm: string;
    signatureValid: boolean | null;
    thisUpdate: string;
    version: number;
  };
  type: "crl";
} | {
  csr: {
    key: string;
    sans: string[];
    signature: string;
    subject: string;
  };
  type: "csr";
};

/** `pki.issue.batch.result` */
export type IssueBatchResultData = {
  alreadyDone: number;
  batch: null | number;
  certificates: Array<{
    issuer: string;
    notAfter: string;
    notBefore: string;
    out: string;
    profile: string;
    sans: string[];
    serial: string;
    sha256: string;
    subject: string;
  }>;
  interrupted: null | "SIGINT" | "SIGTERM";
  issued: number;
  issuer: string;
  outDir: string;
  outDirCreated: boolean;
  profile: string;
  removedTemporaries: number;
  rewritten: number;
  total: number;
};

/** `pki.issue.result` */
export type IssueResultData = {
  chainCertificates: number;
  chainNote?: string;
  chainOut: null | string;
  issuer: string;
  keyOut: null | string;
  notAfter: string;
  notBefore: string;
  out: null | string;
  pem: string;
  profile: string;
  sans: string[];
  serial: string;
  sha256: string;
  subject: string;
};

/** `pki.lint.result` */
export type LintResultData = {
  errors: number;
  results: Array<{
    as: "anchor-bundle" | "ca" | "crl" | "leaf";
    file: string;
    findings: Array<{
      code: string;
      field: string;
      fix: string;
      message: string;
      severity: "error" | "notice" | "warning";
    }>;
    subject: null | string;
  }>;
};

/** `pki.list.result` */
export type ListResultData = Array<{
  isCa: boolean;
  issuer: string;
  notAfter: string;
  notBefore: string;
  profile: string;
  revocation: null | {
    invalidityDate: null | string;
    reason: string;
    revokedAt: string;
  };
  sans: string[];
  serial: string;
  sha256: null | string;
  status: "expired" | "revoked" | "valid";
  subject: string;
}>;

/** `pki.node.join.result` */
export type NodeJoinResultData = {
  audit: {
    hash: string;
    seq: number;
  };
  auditRows: number;
  cas: Array<{
    access: "file" | "pkcs11" | "store";
    keyEncrypted: boolean;
    keyRef: string;
    name: string;
    needs: string;
    status: "active" | "pending" | "retired" | "revoked";
  }>;
  config: string;
  dir: string;
  needs: string[];
  store: string;
};

/** `pki.preview.result` */
export type PreviewResultData = {
  chainCertificates: number;
  dropped: Array<{
    reason: string;
    tag: string;
    value: string;
  }>;
  exitCode: number;
  issuer: string;
  mappings: {
    x509Issuer: string[];
    x509SAN: string[];
    x509Subject: string[];
  };
  roleSessionName: string;
  serial: string;
  sourceIdentity: string;
  sourceIdentityNote: null | string;
  subject: string;
  tags: Record<string, string>;
  warnings: string[];
};

/** `pki.profile.import.result` */
export type ProfileImportResultData = {
  ignored: string[];
  profiles: Array<{
    file: string;
    name: string;
  }>;
};

/** `pki.renew.result` */
export type RenewResultData = {
  issuer: string;
  keyOut: null | string;
  notAfter: string;
  notBefore: string;
  oldSerial: string;
  out: string;
  profile: string;
  revokedOld: null | string;
  sans: string[];
  serial: string;
  sha256: string;
  subject: string;
};

/** `pki.restore.result` */
export type RestoreResultData = {
  auditHead: null | string;
  auditRows: number;
  cas: string[];
  createdAt: string;
  dir: string;
  file: string;
  files: number;
  source: string;
};

/** `pki.revoke.batch.result` */
export type RevokeBatchResultData = {
  certificates: Array<{
    isCa: boolean;
    issuer: string;
    notAfter: string;
    notBefore: string;
    profile: string;
    revocation: null | {
      invalidityDate: null | string;
      reason: string;
      revokedAt: string;
    };
    sans: string[];
    serial: string;
    sha256: null | string;
    status: "expired" | "revoked" | "valid";
    subject: string;
  }>;
  issuer: string;
  revoked: number;
};

/** `pki.revoke.result` */
export type RevokeResultData = {
  isCa: boolean;
  issuer: string;
  notAfter: string;
  notBefore: string;
  profile: string;
  reasonName: string;
  revocation: null | {
    invalidityDate: null | string;
    reason: string;
    revokedAt: string;
  };
  sans: string[];
  serial: string;
  sha256: null | string;
  status: "expired" | "revoked" | "valid";
  subject: string;
};

/** `pki.rotate.abort.result` */
export type RotateAbortResultData = {
  anchor: string;
  calls: string[];
  dryRun: boolean;
  forced: number;
  new: string;
  old: string;
  phase: "aborted" | "aborting" | "finished" | "finishing" | "started" | "starting" | "switched";
};

/** `pki.rotate.finish.result` */
export type RotateFinishResultData = {
  anchor: string;
  calls: string[];
  dryRun: boolean;
  forced: number;
  new: string;
  old: string;
  phase: "aborted" | "aborting" | "finished" | "finishing" | "started" | "starting" | "switched";
};

/** `pki.rotate.plan.result` */
export type RotatePlanResultData = {
  anchor: string;
  anchorChange: boolean;
  bundle: {
    after: string[];
    before: string[];
    during: string[];
  };
  crlCas: string[];
  earliestFinish: string;
  new: string;
  newExists: boolean;
  old: string;
  oldLeaves: {
    count: number;
    latestNotAfter: null | string;
    sample: Array<{
      isCa: boolean;
      issuer: string;
      notAfter: string;
      notBefore: string;
      profile: string;
      revocation: null | {
        invalidityDate: null | string;
        reason: string;
        revokedAt: string;
      };
      sans: string[];
      serial: string;
      sha256: null | string;
      status: "expired" | "revoked" | "valid";
      subject: string;
    }>;
  };
  otherAnchors: Array<{
    bundle: string[];
    message: string;
    name: string;
    trustsNew: boolean;
  }>;
  preflight: Array<{
    check: string;
    message: string;
    ok: boolean;
  }>;
  revokedUnexpired: number;
  rollback: string;
  steps: Array<{
    actions: string[];
    command: string;
    step: string;
    when: string;
  }>;
  warnings: string[];
};

/** `pki.rotate.start.result` */
export type RotateStartResultData = {
  anchor: string;
  calls: string[];
  created: null;
  dryRun: boolean;
  new: string;
  old: string;
  otherAnchors: string[];
  phase: null | "aborted" | "aborting" | "finished" | "finishing" | "started" | "starting" | "switched";
  preflight: Array<{
    check: string;
    message: string;
    ok: boolean;
  }>;
} | {
  anchor: string;
  calls: string[];
  created: {
    ca: string;
    parent: null | string;
    root: boolean;
  };
  dryRun: boolean;
  new: string;
  old: string;
  otherAnchors: string[];
  phase: null;
  preflight: Array<{
    check: string;
    message: string;
    ok: boolean;
  }>;
} | {
  anchor: string;
  calls: string[];
  created: null | {
    ca: string;
    parent: null | string;
    root: boolean;
  };
  dryRun: boolean;
  new: string;
  old: string;
  otherAnchors: string[];
  phase: "aborted" | "aborting" | "finished" | "finishing" | "started" | "starting" | "switched";
  preflight: Array<{
    check: string;
    message: string;
    ok: boolean;
  }>;
};

/** `pki.rotate.status.result` */
export type RotateStatusResultData = {
  anchor: string;
  due: boolean;
  eta: null;
  exitCode: number;
  message: string;
  next: null;
  oldLeaves: null;
  revokedUnexpired: number;
  rotation: null;
} | {
  anchor: string;
  due: boolean;
  eta: null | string;
  exitCode: number;
  message: string;
  next: null | string;
  oldLeaves: {
    count: number;
    latestNotAfter: null | string;
    sample: Array<{
      isCa: boolean;
      issuer: string;
      notAfter: string;
      notBefore: string;
      profile: string;
      revocation: null | {
        invalidityDate: null | string;
        reason: string;
        revokedAt: string;
      };
      sans: string[];
      serial: string;
      sha256: null | string;
      status: "expired" | "revoked" | "valid";
      subject: string;
    }>;
  };
  revokedUnexpired: number;
  rotation: {
    anchor: string;
    anchorChange: boolean;
    bundle: {
      after: string[];
      before: string[];
      during: string[];
    };
    closedForIssuance: string[];
    crlCas: string[];
    endedAt: null | string;
    id: number;
    new: string;
    now: string;
    old: string;
    phase: "aborted" | "aborting" | "finished" | "finishing" | "started" | "starting" | "switched";
    startedAt: string;
    switchedAt: null | string;
  };
};

/** `pki.rotate.switch.result` */
export type RotateSwitchResultData = {
  anchor: string;
  calls: string[];
  closed: string[];
  dryRun: boolean;
  new: string;
  old: string;
  phase: "aborted" | "aborting" | "finished" | "finishing" | "started" | "starting" | "switched";
};

/** `pki.show.result` */
export type ShowResultData = {
  isCa: boolean;
  issuedAt: string;
  issuer: string;
  notAfter: string;
  notBefore: string;
  out: unknown;
  pem: null | string;
  profile: string;
  requestedBy: string;
  revocation: null | {
    invalidityDate: null | string;
    reason: string;
    revokedAt: string;
  };
  sans: string[];
  serial: string;
  sha256: null | string;
  source: string;
  status: "expired" | "revoked" | "valid";
  subject: string;
} | {
  isCa: boolean;
  issuedAt: string;
  issuer: string;
  notAfter: string;
  notBefore: string;
  pem: null | string;
  profile: string;
  requestedBy: string;
  revocation: null | {
    invalidityDate: null | string;
    reason: string;
    revokedAt: string;
  };
  sans: string[];
  serial: string;
  sha256: null | string;
  source: string;
  status: "expired" | "revoked" | "valid";
  subject: string;
};

/** `pki.status.result` */
export type StatusResultData = {
  anchors: Array<{
    arn: string;
    cas: string[];
    name: string;
    stale: string[];
  }>;
  cas: Record<string, unknown>[];
  checks: Array<{
    level: "critical" | "ok" | "warning";
    message: string;
    what: string;
  }>;
  exitCode: number;
  now: string;
  rotations: Array<{
    anchor: string;
    due: boolean;
    eta: null | string;
    next: null | string;
    phase: "aborted" | "aborting" | "finished" | "finishing" | "started" | "starting" | "switched";
  }>;
  status: "critical" | "ok" | "warning";
};

/** `pki.store.migrate.result` */
export type StoreMigrateResultData = {
  auditHead: null | string;
  auditRows: number;
  dir: string;
  from: string;
  keysMoved: string[];
  tables: Array<{
    rows: number;
    table: string;
  }>;
  to: string;
};

/** `pki.target.add.result` */
export type TargetAddResultData = {
  account: null | string;
  awsProfile: null | string;
  createdAt: string;
  endpoint: null | string;
  name: string;
  region: string;
  roleArn: null | string;
};

/** `pki.target.list.result` */
export type TargetListResultData = Array<{
  account: null | string;
  anchors: string[];
  awsProfile: null | string;
  createdAt: string;
  endpoint: null | string;
  name: string;
  region: string;
  roleArn: null | string;
}>;

/** `pki.target.remove.result` */
export type TargetRemoveResultData = {
  name: string;
  removed: boolean;
};

/** `pki.verify.result` */
export type VerifyResultData = {
  at: string;
  exitCode: number;
  failure: null | {
    certificate: string;
    check: "ca" | "chain" | "chain-length" | "critical-extension" | "crl" | "key-usage" | "name-constraints" | "path-length" | "policy" | "revoked" | "signature" | "structure" | "validity" | "weak-signature";
    message: string;
  };
  mode: string;
  path: string[];
  valid: boolean;
};

/** kind → its data type. */
export interface ResultData {
  'pki.anchor.bundle.result': AnchorBundleResultData;
  'pki.anchor.push.result': AnchorPushResultData;
  'pki.anchor.status.result': AnchorStatusResultData;
  'pki.audit.head.result': AuditHeadResultData;
  'pki.audit.log.result': AuditLogResultData;
  'pki.audit.verify.result': AuditVerifyResultData;
  'pki.aws.config.result': AwsConfigResultData;
  'pki.aws.profile.result': AwsProfileResultData;
  'pki.aws.trust-policy.result': AwsTrustPolicyResultData;
  'pki.backup.result': BackupResultData;
  'pki.ca.create.result': CaCreateResultData;
  'pki.ca.csr.result': CaCsrResultData;
  'pki.ca.export.result': CaExportResultData;
  'pki.ca.import.result': CaImportResultData;
  'pki.ca.list.result': CaListResultData;
  'pki.ca.retire.result': CaRetireResultData;
  'pki.ca.sign.result': CaSignResultData;
  'pki.credential-process.result': CredentialProcessResultData;
  'pki.credential.serve.result': CredentialServeResultData;
  'pki.credential.update.result': CredentialUpdateResultData;
  'pki.crl.check.result': CrlCheckResultData;
  'pki.crl.export.result': CrlExportResultData;
  'pki.crl.generate.result': CrlGenerateResultData;
  'pki.crl.inspect.result': CrlInspectResultData;
  'pki.crl.list.result': CrlListResultData;
  'pki.crl.publish.result': CrlPublishResultData;
  'pki.csr.result': CsrResultData;
  'pki.emulator.serve.result': EmulatorServeResultData;
  'pki.import.cfssl.result': ImportCfsslResultData;
  'pki.import.easy-rsa.result': ImportEasyRsaResultData;
  'pki.import.openssl-ca.result': ImportOpensslCaResultData;
  'pki.init.result': InitResultData;
  'pki.inspect.result': InspectResultData;
  'pki.issue.batch.result': IssueBatchResultData;
  'pki.issue.result': IssueResultData;
  'pki.lint.result': LintResultData;
  'pki.list.result': ListResultData;
  'pki.node.join.result': NodeJoinResultData;
  'pki.preview.result': PreviewResultData;
  'pki.profile.import.result': ProfileImportResultData;
  'pki.renew.result': RenewResultData;
  'pki.restore.result': RestoreResultData;
  'pki.revoke.batch.result': RevokeBatchResultData;
  'pki.revoke.result': RevokeResultData;
  'pki.rotate.abort.result': RotateAbortResultData;
  'pki.rotate.finish.result': RotateFinishResultData;
  'pki.rotate.plan.result': RotatePlanResultData;
  'pki.rotate.start.result': RotateStartResultData;
  'pki.rotate.status.result': RotateStatusResultData;
  'pki.rotate.switch.result': RotateSwitchResultData;
  'pki.show.result': ShowResultData;
  'pki.status.result': StatusResultData;
  'pki.store.migrate.result': StoreMigrateResultData;
  'pki.target.add.result': TargetAddResultData;
  'pki.target.list.result': TargetListResultData;
  'pki.target.remove.result': TargetRemoveResultData;
  'pki.verify.result': VerifyResultData;
}

export type ResultKind = keyof ResultData;

/** A success (or a failing verdict: `ok` false with the command's kind and its data). */
export interface JsonResult<K extends ResultKind = ResultKind> {
  ok: boolean;
  kind: K;
  version: typeof JSON_CONTRACT_VERSION;
  data: ResultData[K];
}

/** A refusal or failure: exit code from `error.code`'s prefix (README "Exit codes"). */
export interface JsonError {
  ok: false;
  kind: 'pki.error';
  version: typeof JSON_CONTRACT_VERSION;
  error: { code: string; message: string; details: Record<string, unknown>; hint: string | null };
}

/** The shapes above as data, for checking real output (test/unit/json-contract.test.ts). */
export const RESULT_SHAPES: Record<ResultKind, Shape> = {
  'pki.anchor.bundle.result': {"object":{"cas":{"shape":{"array":"string"}},"chars":{"shape":"number"},"out":{"shape":{"union":["null","string"]}},"pem":{"shape":"string"},"sha256":{"shape":"string"},"warnings":{"shape":{"array":"string"}}}},
  'pki.anchor.push.result': {"union":[{"object":{"arn":{"shape":{"union":["null","string"]}},"calls":{"shape":{"array":"string"}},"dryRun":{"shape":"boolean"},"enabled":{"shape":"boolean"},"name":{"shape":"string"}}},{"object":{"exitCode":{"shape":"number"},"name":{"shape":"string"},"ok":{"shape":"boolean"},"results":{"shape":{"array":{"object":{"arn":{"shape":{"union":["null","string"]}},"calls":{"shape":{"array":"string"}},"dryRun":{"shape":"boolean","optional":true},"enabled":{"shape":"boolean","optional":true},"error":{"shape":{"object":{"code":{"shape":"string"},"details":{"shape":{"record":"unknown"}},"hint":{"shape":{"union":["null","string"]}},"message":{"shape":"string"}}},"optional":true},"name":{"shape":"string"},"ok":{"shape":"boolean"},"target":{"shape":"string"}}}}}}}]},
  'pki.anchor.status.result': {"union":[{"object":{"arn":{"shape":"string"},"cas":{"shape":{"array":"string"}},"crls":{"shape":{"array":{"object":{"ca":{"shape":{"union":["null","string"]}},"crlId":{"shape":"string","optional":true},"crlNumber":{"shape":{"union":["null","number"]}},"enabled":{"shape":"boolean","optional":true},"name":{"shape":"string","optional":true},"nextUpdate":{"shape":{"union":["null","string"]}}}}}},"enabled":{"shape":"boolean"},"exitCode":{"shape":"number"},"expected":{"shape":{"array":{"array":"string"}}},"findings":{"shape":{"array":{"object":{"level":{"shape":{"union":[{"literal":"critical"},{"literal":"warning"}]}},"message":{"shape":"string"}}}}},"name":{"shape":"string"},"problems":{"shape":{"array":"string"}},"rotation":{"shape":{"union":["null",{"object":{"new":{"shape":"string","optional":true},"old":{"shape":"string","optional":true},"phase":{"shape":{"union":[{"literal":"aborted"},{"literal":"aborting"},{"literal":"finished"},{"literal":"finishing"},{"literal":"started"},{"literal":"starting"},{"literal":"switched"}]}}}}]}}}},{"object":{"exitCode":{"shape":"number"},"name":{"shape":"string"},"targets":{"shape":{"array":{"union":[{"object":{"account":{"shape":"null"},"arn":{"shape":"string"},"cas":{"shape":{"array":"string"}},"crls":{"shape":{"array":{"object":{"ca":{"shape":{"union":["null","string"]}},"crlId":{"shape":"string","optional":true},"crlNumber":{"shape":{"union":["null","number"]}},"enabled":{"shape":"boolean","optional":true},"name":{"shape":"string","optional":true},"nextUpdate":{"shape":{"union":["null","string"]}}}}}},"enabled":{"shape":"boolean"},"error":{"shape":"null"},"exitCode":{"shape":"number"},"expected":{"shape":{"array":{"array":"string"}}},"findings":{"shape":{"array":{"object":{"level":{"shape":{"union":[{"literal":"critical"},{"literal":"warning"}]}},"message":{"shape":"string"}}}}},"name":{"shape":"string"},"problems":{"shape":{"array":"string"}},"region":{"shape":{"union":["null","string"]}},"rotation":{"shape":{"union":["null",{"object":{"new":{"shape":"string","optional":true},"old":{"shape":"string","optional":true},"phase":{"shape":{"union":[{"literal":"aborted"},{"literal":"aborting"},{"literal":"finished"},{"literal":"finishing"},{"literal":"started"},{"literal":"starting"},{"literal":"switched"}]}}}}]}},"target":{"shape":"string"}}},{"object":{"account":{"shape":"null"},"arn":{"shape":{"union":["null","string"]}},"crls":{"shape":{"array":"unknown"}},"enabled":{"shape":"null"},"error":{"shape":{"object":{"code":{"shape":"string"},"message":{"shape":"string"}}}},"exitCode":{"shape":"number"},"findings":{"shape":{"array":{"object":{"level":{"shape":{"literal":"critical"}},"message":{"shape":"string"}}}}},"name":{"shape":"string"},"problems":{"shape":{"array":"string"}},"region":{"shape":{"union":["null","string"]}},"target":{"shape":"string"}}},{"object":{"account":{"shape":"string"},"arn":{"shape":"string"},"cas":{"shape":{"array":"string"}},"crls":{"shape":{"array":{"object":{"ca":{"shape":{"union":["null","string"]}},"crlId":{"shape":"string","optional":true},"crlNumber":{"shape":{"union":["null","number"]}},"enabled":{"shape":"boolean","optional":true},"name":{"shape":"string","optional":true},"nextUpdate":{"shape":{"union":["null","string"]}}}}}},"enabled":{"shape":"boolean"},"error":{"shape":"null"},"exitCode":{"shape":"number"},"expected":{"shape":{"array":{"array":"string"}}},"findings":{"shape":{"array":{"object":{"level":{"shape":{"union":[{"literal":"critical"},{"literal":"warning"}]}},"message":{"shape":"string"}}}}},"name":{"shape":"string"},"problems":{"shape":{"array":"string"}},"region":{"shape":"string"},"rotation":{"shape":{"union":["null",{"object":{"new":{"shape":"string","optional":true},"old":{"shape":"string","optional":true},"phase":{"shape":{"union":[{"literal":"aborted"},{"literal":"aborting"},{"literal":"finished"},{"literal":"finishing"},{"literal":"started"},{"literal":"starting"},{"literal":"switched"}]}}}}]}},"target":{"shape":"string"}}},{"object":{"account":{"shape":"string"},"arn":{"shape":{"union":["null","string"]}},"crls":{"shape":{"array":"unknown"}},"enabled":{"shape":"null"},"error":{"shape":{"object":{"code":{"shape":"string"},"message":{"shape":"string"}}}},"exitCode":{"shape":"number"},"findings":{"shape":{"array":{"object":{"level":{"shape":{"literal":"critical"}},"message":{"shape":"string"}}}}},"name":{"shape":"string"},"problems":{"shape":{"array":"string"}},"region":{"shape":"string"},"target":{"shape":"string"}}}]}}}}}]},
  'pki.audit.head.result': {"union":[{"object":{"at":{"shape":"null"},"hash":{"shape":"null"},"head":{"shape":"null"},"seq":{"shape":"number"}}},{"object":{"at":{"shape":"string"},"hash":{"shape":"string"},"head":{"shape":"string"},"seq":{"shape":"number"}}}]},
  'pki.audit.log.result': {"array":{"object":{"action":{"shape":"string"},"actor":{"shape":"string"},"at":{"shape":"string"},"details":{"shape":{"record":"unknown"}},"hash":{"shape":"string"},"seq":{"shape":"number"},"target":{"shape":"string"}}}},
  'pki.audit.verify.result': {"object":{"exitCode":{"shape":"number"},"firstBroken":{"shape":{"union":["null",{"object":{"reason":{"shape":"string"},"seq":{"shape":"number"}}}]}},"head":{"shape":{"union":["null",{"object":{"hash":{"shape":"string"},"seq":{"shape":"number"},"text":{"shape":"string"}}}]}},"headCheck":{"shape":{"union":["null",{"object":{"head":{"shape":"string"},"problem":{"shape":{"union":["null","string"]}}}}]}},"intact":{"shape":"boolean"},"mismatches":{"shape":{"array":"string"}},"rows":{"shape":"number"}}},
  'pki.aws.config.result': {"object":{"chainedProfile":{"shape":"string","optional":true},"config":{"shape":"string"},"credentialProcess":{"shape":"string"},"profile":{"shape":"string"},"profileArn":{"shape":"string"},"region":{"shape":"string"},"roleArn":{"shape":"string"},"trustAnchorArn":{"shape":"string"}}},
  'pki.aws.profile.result': {"object":{"attributeMappings":{"shape":{"record":{"array":"string"}}},"calls":{"shape":{"array":"string"}},"durationSeconds":{"shape":{"union":["null","number"]}},"enabled":{"shape":"boolean"},"name":{"shape":"string"},"profileArn":{"shape":"string"},"roleArns":{"shape":{"array":"string"}},"target":{"shape":"string"}}},
  'pki.aws.trust-policy.result': {"object":{"anchor":{"shape":"string"},"anchorArn":{"shape":"string"},"checked":{"shape":{"union":["null",{"object":{"serial":{"shape":"string"},"subject":{"shape":"string"}}}]}},"policy":{"shape":{"object":{"Statement":{"shape":{"array":{"object":{"Action":{"shape":{"array":"string"}},"Condition":{"shape":{"record":{"record":{"union":["string",{"array":"string"}]}}}},"Effect":{"shape":"string"},"Principal":{"shape":{"object":{"Service":{"shape":"string"}}}},"Sid":{"shape":"string"}}}}},"Version":{"shape":"string"}}}},"target":{"shape":"string"}}},
  'pki.backup.result': {"object":{"auditHead":{"shape":{"union":["null","string"]}},"bytes":{"shape":"number"},"cas":{"shape":"number"},"createdAt":{"shape":"string"},"files":{"shape":"number"},"out":{"shape":"string"},"sha256":{"shape":"string"}}},
  'pki.ca.create.result': {"object":{"keyEncrypted":{"shape":"boolean"},"keyFile":{"shape":"string"},"keyType":{"shape":{"union":[{"literal":"ecdsa-p256"},{"literal":"ecdsa-p384"},{"literal":"ecdsa-p521"},{"literal":"ml-dsa-44"},{"literal":"ml-dsa-65"},{"literal":"ml-dsa-87"},{"literal":"rsa-2048"},{"literal":"rsa-3072"},{"literal":"rsa-4096"}]}},"name":{"shape":"string"},"notAfter":{"shape":{"union":["null","string"]}},"notBefore":{"shape":{"union":["null","string"]}},"parent":{"shape":{"union":["null","string"]}},"serial":{"shape":{"union":["null","string"]}},"sha256":{"shape":{"union":["null","string"]}},"status":{"shape":{"union":[{"literal":"active"},{"literal":"pending"},{"literal":"retired"},{"literal":"revoked"}]}},"subject":{"shape":"string"}}},
  'pki.ca.csr.result': {"object":{"csr":{"shape":"string"},"csrPem":{"shape":"string"},"keyEncrypted":{"shape":"boolean"},"keyFile":{"shape":"string"},"keyType":{"shape":{"union":[{"literal":"ecdsa-p256"},{"literal":"ecdsa-p384"},{"literal":"ecdsa-p521"},{"literal":"ml-dsa-44"},{"literal":"ml-dsa-65"},{"literal":"ml-dsa-87"},{"literal":"rsa-2048"},{"literal":"rsa-3072"},{"literal":"rsa-4096"}]}},"name":{"shape":"string"},"notAfter":{"shape":{"union":["null","string"]}},"notBefore":{"shape":{"union":["null","string"]}},"parent":{"shape":{"union":["null","string"]}},"serial":{"shape":{"union":["null","string"]}},"sha256":{"shape":{"union":["null","string"]}},"status":{"shape":{"union":[{"literal":"active"},{"literal":"pending"},{"literal":"retired"},{"literal":"revoked"}]}},"subject":{"shape":"string"}}},
  'pki.ca.export.result': {"object":{"certificates":{"shape":"number"},"name":{"shape":"string"},"out":{"shape":{"union":["null","string"]}},"pem":{"shape":"string"}}},
  'pki.ca.import.result': {"object":{"externalIssuer":{"shape":"boolean"},"keyEncrypted":{"shape":"boolean"},"keyFile":{"shape":"string"},"keyType":{"shape":{"union":[{"literal":"ecdsa-p256"},{"literal":"ecdsa-p384"},{"literal":"ecdsa-p521"},{"literal":"ml-dsa-44"},{"literal":"ml-dsa-65"},{"literal":"ml-dsa-87"},{"literal":"rsa-2048"},{"literal":"rsa-3072"},{"literal":"rsa-4096"}]}},"name":{"shape":"string"},"notAfter":{"shape":{"union":["null","string"]}},"notBefore":{"shape":{"union":["null","string"]}},"parent":{"shape":{"union":["null","string"]}},"selfSigned":{"shape":"boolean"},"serial":{"shape":{"union":["null","string"]}},"sha256":{"shape":"string"},"status":{"shape":{"union":[{"literal":"active"},{"literal":"pending"},{"literal":"retired"},{"literal":"revoked"}]}},"subject":{"shape":"string"}}},
  'pki.ca.list.result': {"array":{"object":{"expired":{"shape":"boolean"},"keyEncrypted":{"shape":"boolean"},"keyFile":{"shape":"string"},"keyType":{"shape":{"union":[{"literal":"ecdsa-p256"},{"literal":"ecdsa-p384"},{"literal":"ecdsa-p521"},{"literal":"ml-dsa-44"},{"literal":"ml-dsa-65"},{"literal":"ml-dsa-87"},{"literal":"rsa-2048"},{"literal":"rsa-3072"},{"literal":"rsa-4096"}]}},"name":{"shape":"string"},"notAfter":{"shape":{"union":["null","string"]}},"notBefore":{"shape":{"union":["null","string"]}},"parent":{"shape":{"union":["null","string"]}},"pathLen":{"shape":{"union":["null","number"]}},"retiredAt":{"shape":{"union":["null","string"]}},"serial":{"shape":{"union":["null","string"]}},"sha256":{"shape":{"union":["null","string"]}},"status":{"shape":{"union":[{"literal":"active"},{"literal":"pending"},{"literal":"retired"},{"literal":"revoked"}]}},"statusDetail":{"shape":"string"},"subject":{"shape":"string"}}}},
  'pki.ca.retire.result': {"object":{"cas":{"shape":{"array":{"object":{"name":{"shape":"string"},"status":{"shape":"string"}}}}},"name":{"shape":"string"},"retired":{"shape":{"array":"string"}},"unchanged":{"shape":{"array":"string"}},"warnings":{"shape":{"array":"string"}}}},
  'pki.ca.sign.result': {"object":{"issuer":{"shape":"string"},"notAfter":{"shape":"string"},"notBefore":{"shape":"string"},"out":{"shape":"string"},"pathLen":{"shape":{"union":["null","number"]}},"pem":{"shape":"string"},"serial":{"shape":"string"},"subject":{"shape":"string"}}},
  'pki.credential-process.result': {"object":{"AccessKeyId":{"shape":"string"},"Expiration":{"shape":"string"},"SecretAccessKey":{"shape":"string"},"SessionToken":{"shape":"string"},"Version":{"shape":"number"}}},
  'pki.credential.serve.result': {"object":{"port":{"shape":"number"},"roleName":{"shape":"string"},"url":{"shape":"string"}}},
  'pki.credential.update.result': {"object":{"expiration":{"shape":{"union":["null","string"]}},"file":{"shape":"string"},"profile":{"shape":"string"},"writes":{"shape":"number"}}},
  'pki.crl.check.result': {"union":[{"object":{"budgetBytes":{"shape":"number"},"crlNumber":{"shape":"null"},"entries":{"shape":"number"},"exitCode":{"shape":"number"},"nextUpdate":{"shape":"null"},"pemBytes":{"shape":"number"},"problems":{"shape":{"array":"string"}},"signatureValid":{"shape":"null"},"source":{"shape":"string"},"status":{"shape":{"literal":"critical"}},"thisUpdate":{"shape":"null"}}},{"object":{"budgetBytes":{"shape":"number"},"crlNumber":{"shape":{"union":["null","string"]}},"entries":{"shape":"number"},"exitCode":{"shape":"number"},"nextUpdate":{"shape":{"union":["null","string"]}},"pemBytes":{"shape":"number"},"problems":{"shape":{"array":"string"}},"signatureValid":{"shape":{"union":["boolean","null"]}},"source":{"shape":"string"},"status":{"shape":{"union":[{"literal":"critical"},{"literal":"fresh"},{"literal":"warning"}]}},"thisUpdate":{"shape":"string"}}}]},
  'pki.crl.export.result': {"object":{"budgetBytes":{"shape":"number"},"budgetPercent":{"shape":"number"},"ca":{"shape":"string"},"crlNumber":{"shape":"number"},"derBase64":{"shape":"string","optional":true},"derBytes":{"shape":"number"},"entries":{"shape":"number"},"format":{"shape":{"union":[{"literal":"der"},{"literal":"pem"}]}},"nextUpdate":{"shape":"string"},"out":{"shape":{"union":["null","string"]}},"pem":{"shape":"string","optional":true},"pemBytes":{"shape":"number"},"pruned":{"shape":"number"},"reasons":{"shape":"string"},"sha256":{"shape":"string"},"thisUpdate":{"shape":"string"}}},
  'pki.crl.generate.result': {"union":[{"object":{"crl":{"shape":{"object":{"budgetBytes":{"shape":"number"},"budgetPercent":{"shape":"number"},"ca":{"shape":"string"},"crlNumber":{"shape":"number"},"derBytes":{"shape":"number"},"entries":{"shape":"number"},"nextUpdate":{"shape":"string"},"pemBytes":{"shape":"number"},"pruned":{"shape":"number"},"reasons":{"shape":"string"},"sha256":{"shape":"string"},"thisUpdate":{"shape":"string"}}}},"der":{"shape":"unknown","optional":true},"format":{"shape":{"union":[{"literal":"der"},{"literal":"pem"}]}},"generated":{"shape":"boolean"},"out":{"shape":{"union":["null","string"]}},"pem":{"shape":"string","optional":true},"warnings":{"shape":{"array":"string"}}}},{"object":{"crl":{"shape":{"object":{"budgetBytes":{"shape":"number"},"budgetPercent":{"shape":"number"},"ca":{"shape":"string"},"crlNumber":{"shape":"number"},"derBytes":{"shape":"number"},"entries":{"shape":"number"},"nextUpdate":{"shape":"string"},"pemBytes":{"shape":"number"},"pruned":{"shape":"number"},"reasons":{"shape":"string"},"sha256":{"shape":"string"},"thisUpdate":{"shape":"string"}}}},"derBase64":{"shape":"string","optional":true},"format":{"shape":{"union":[{"literal":"der"},{"literal":"pem"}]}},"generated":{"shape":"boolean"},"out":{"shape":{"union":["null","string"]}},"pem":{"shape":"string","optional":true},"warnings":{"shape":{"array":"string"}}}},{"object":{"crl":{"shape":{"object":{"budgetBytes":{"shape":"number"},"budgetPercent":{"shape":"number"},"ca":{"shape":"string"},"crlNumber":{"shape":"number"},"derBytes":{"shape":"number"},"entries":{"shape":"number"},"nextUpdate":{"shape":"string"},"pemBytes":{"shape":"number"},"pruned":{"shape":"number"},"reasons":{"shape":"string"},"sha256":{"shape":"string"},"thisUpdate":{"shape":"string"}}}},"format":{"shape":{"union":[{"literal":"der"},{"literal":"pem"}]}},"generated":{"shape":"boolean"},"out":{"shape":{"union":["null","string"]}},"reason":{"shape":"string"},"rewrote":{"shape":{"union":["null",{"literal":"different"},{"literal":"missing"}]}}}},{"object":{"crl":{"shape":{"object":{"budgetBytes":{"shape":"number"},"budgetPercent":{"shape":"number"},"ca":{"shape":"string"},"crlNumber":{"shape":"number"},"derBytes":{"shape":"number"},"entries":{"shape":"number"},"nextUpdate":{"shape":"string"},"pemBytes":{"shape":"number"},"pruned":{"shape":"number"},"reasons":{"shape":"string"},"sha256":{"shape":"string"},"thisUpdate":{"shape":"string"}}}},"generated":{"shape":"boolean"},"reason":{"shape":"string"}}}]},
  'pki.crl.inspect.result': {"object":{"authorityKeyId":{"shape":{"union":["null","string"]}},"crlNumber":{"shape":{"union":["null","string"]}},"derBytes":{"shape":"number"},"entries":{"shape":"number"},"file":{"shape":"string"},"issuer":{"shape":"string"},"nextUpdate":{"shape":{"union":["null","string"]}},"pemBytes":{"shape":"number"},"reasons":{"shape":{"record":"number"}},"revoked":{"shape":{"array":{"object":{"invalidityDate":{"shape":{"union":["null","string"]}},"reason":{"shape":{"union":["null","string"]}},"revocationDate":{"shape":"string"},"serial":{"shape":"string"}}}},"optional":true},"signatureAlgorithm":{"shape":"string"},"signatureValid":{"shape":{"union":["boolean","null"]}},"thisUpdate":{"shape":"string"},"version":{"shape":"number"}}},
  'pki.crl.list.result': {"array":{"object":{"budgetBytes":{"shape":"number"},"budgetPercent":{"shape":"number"},"ca":{"shape":"string"},"crlNumber":{"shape":"number"},"derBytes":{"shape":"number"},"entries":{"shape":"number"},"nextUpdate":{"shape":"string"},"pemBytes":{"shape":"number"},"pruned":{"shape":"number"},"reasons":{"shape":"string"},"sha256":{"shape":"string"},"thisUpdate":{"shape":"string"}}}},
  'pki.crl.publish.result': {"object":{"exitCode":{"shape":"number"},"ok":{"shape":"boolean"},"results":{"shape":{"array":{"object":{"action":{"shape":{"union":[{"literal":"dry-run"},{"literal":"imported"},{"literal":"re-enabled"},{"literal":"re-imported"},{"literal":"recovered"},{"literal":"replaced"},{"literal":"unchanged"},{"literal":"updated"}]},"optional":true},"anchor":{"shape":"string"},"arn":{"shape":{"union":["null","string"]},"optional":true},"ca":{"shape":"string"},"calls":{"shape":{"array":"string"}},"crlId":{"shape":"string","optional":true},"crlNumber":{"shape":"number","optional":true},"error":{"shape":{"object":{"code":{"shape":"string"},"details":{"shape":{"record":"unknown"}},"hint":{"shape":{"union":["null","string"]}},"message":{"shape":"string"}}},"optional":true},"found":{"shape":{"array":"string"},"optional":true},"ok":{"shape":"boolean"},"target":{"shape":"string","optional":true}}}}}}},
  'pki.csr.result': {"union":[{"object":{"keyOut":{"shape":"string"},"keyRef":{"shape":"string"},"keyType":{"shape":{"union":[{"literal":"ecdsa-p256"},{"literal":"ecdsa-p384"},{"literal":"ecdsa-p521"},{"literal":"ml-dsa-44"},{"literal":"ml-dsa-65"},{"literal":"ml-dsa-87"},{"literal":"rsa-2048"},{"literal":"rsa-3072"},{"literal":"rsa-4096"}]}},"out":{"shape":"string"},"sans":{"shape":{"array":"string"}},"subject":{"shape":"string"}}},{"object":{"keyOut":{"shape":"string"},"keyType":{"shape":{"union":[{"literal":"ecdsa-p256"},{"literal":"ecdsa-p384"},{"literal":"ecdsa-p521"},{"literal":"ml-dsa-44"},{"literal":"ml-dsa-65"},{"literal":"ml-dsa-87"},{"literal":"rsa-2048"},{"literal":"rsa-3072"},{"literal":"rsa-4096"}]}},"out":{"shape":"string"},"sans":{"shape":{"array":"string"}},"subject":{"shape":"string"}}}]},
  'pki.emulator.serve.result': {"object":{"account":{"shape":"unknown"},"port":{"shape":"number"},"region":{"shape":"unknown"},"state":{"shape":"unknown"},"url":{"shape":"string"}}},
  'pki.import.cfssl.result': {"object":{"certificates":{"shape":"number"},"crlNumberSource":{"shape":{"union":["null","string"]}},"keyEncrypted":{"shape":"boolean"},"keyFile":{"shape":"string"},"keyType":{"shape":{"union":[{"literal":"ecdsa-p256"},{"literal":"ecdsa-p384"},{"literal":"ecdsa-p521"},{"literal":"ml-dsa-44"},{"literal":"ml-dsa-65"},{"literal":"ml-dsa-87"},{"literal":"rsa-2048"},{"literal":"rsa-3072"},{"literal":"rsa-4096"}]}},"knownSerials":{"shape":"number"},"name":{"shape":"string"},"nextCrlNumber":{"shape":{"union":["null","number"]}},"notAfter":{"shape":{"union":["null","string"]}},"notBefore":{"shape":{"union":["null","string"]}},"otherCas":{"shape":"number"},"parent":{"shape":{"union":["null","string"]}},"revocations":{"shape":"number"},"serial":{"shape":{"union":["null","string"]}},"sha256":{"shape":{"union":["null","string"]}},"status":{"shape":{"union":[{"literal":"active"},{"literal":"pending"},{"literal":"retired"},{"literal":"revoked"}]}},"subject":{"shape":"string"},"tool":{"shape":"string"}}},
  'pki.import.easy-rsa.result': {"object":{"certificates":{"shape":"number"},"crlNumberSource":{"shape":{"union":["null","string"]}},"keyEncrypted":{"shape":"boolean"},"keyFile":{"shape":"string"},"keyType":{"shape":{"union":[{"literal":"ecdsa-p256"},{"literal":"ecdsa-p384"},{"literal":"ecdsa-p521"},{"literal":"ml-dsa-44"},{"literal":"ml-dsa-65"},{"literal":"ml-dsa-87"},{"literal":"rsa-2048"},{"literal":"rsa-3072"},{"literal":"rsa-4096"}]}},"knownSerials":{"shape":"number"},"name":{"shape":"string"},"nextCrlNumber":{"shape":{"union":["null","number"]}},"notAfter":{"shape":{"union":["null","string"]}},"notBefore":{"shape":{"union":["null","string"]}},"parent":{"shape":{"union":["null","string"]}},"revocations":{"shape":"number"},"serial":{"shape":{"union":["null","string"]}},"sha256":{"shape":{"union":["null","string"]}},"status":{"shape":{"union":[{"literal":"active"},{"literal":"pending"},{"literal":"retired"},{"literal":"revoked"}]}},"subject":{"shape":"string"},"tool":{"shape":"string"}}},
  'pki.import.openssl-ca.result': {"object":{"certificates":{"shape":"number"},"crlNumberSource":{"shape":{"union":["null","string"]}},"keyEncrypted":{"shape":"boolean"},"keyFile":{"shape":"string"},"keyType":{"shape":{"union":[{"literal":"ecdsa-p256"},{"literal":"ecdsa-p384"},{"literal":"ecdsa-p521"},{"literal":"ml-dsa-44"},{"literal":"ml-dsa-65"},{"literal":"ml-dsa-87"},{"literal":"rsa-2048"},{"literal":"rsa-3072"},{"literal":"rsa-4096"}]}},"knownSerials":{"shape":"number"},"name":{"shape":"string"},"nextCrlNumber":{"shape":{"union":["null","number"]}},"notAfter":{"shape":{"union":["null","string"]}},"notBefore":{"shape":{"union":["null","string"]}},"parent":{"shape":{"union":["null","string"]}},"revocations":{"shape":"number"},"serial":{"shape":{"union":["null","string"]}},"sha256":{"shape":{"union":["null","string"]}},"status":{"shape":{"union":[{"literal":"active"},{"literal":"pending"},{"literal":"retired"},{"literal":"revoked"}]}},"subject":{"shape":"string"},"tool":{"shape":"string"}}},
  'pki.init.result': {"object":{"adopted":{"shape":"boolean"},"ca":{"shape":{"object":{"keyEncrypted":{"shape":"boolean"},"keyFile":{"shape":"string"},"keyType":{"shape":{"union":[{"literal":"ecdsa-p256"},{"literal":"ecdsa-p384"},{"literal":"ecdsa-p521"},{"literal":"ml-dsa-44"},{"literal":"ml-dsa-65"},{"literal":"ml-dsa-87"},{"literal":"rsa-2048"},{"literal":"rsa-3072"},{"literal":"rsa-4096"}]}},"name":{"shape":"string"},"notAfter":{"shape":{"union":["null","string"]}},"notBefore":{"shape":{"union":["null","string"]}},"parent":{"shape":{"union":["null","string"]}},"serial":{"shape":{"union":["null","string"]}},"sha256":{"shape":{"union":["null","string"]}},"status":{"shape":{"union":[{"literal":"active"},{"literal":"pending"},{"literal":"retired"},{"literal":"revoked"}]}},"subject":{"shape":"string"}}}},"config":{"shape":"string"},"dir":{"shape":"string"},"store":{"shape":"string"}}},
  'pki.inspect.result': {"union":[{"object":{"certificate":{"shape":{"object":{"authorityKeyId":{"shape":{"union":["null","string"]}},"basicConstraints":{"shape":{"union":["null",{"object":{"ca":{"shape":"boolean"},"pathLen":{"shape":"number","optional":true}}}]}},"extendedKeyUsage":{"shape":{"union":["null",{"array":"string"}]}},"issuer":{"shape":"string"},"key":{"shape":"string"},"keyUsage":{"shape":{"union":["null",{"array":"string"}]}},"notAfter":{"shape":"string"},"notBefore":{"shape":"string"},"rolesAnywhere":{"shape":{"object":{"dropped":{"shape":{"array":{"object":{"reason":{"shape":"string"},"tag":{"shape":"string"},"value":{"shape":"string"}}}}},"roleSessionName":{"shape":"string"},"sourceIdentity":{"shape":"string"},"tags":{"shape":{"record":"string"}}}}},"sans":{"shape":{"array":"string"}},"selfSigned":{"shape":"boolean"},"serialDecimal":{"shape":"string"},"serialHex":{"shape":"string"},"sha1":{"shape":"string"},"sha256":{"shape":"string"},"signatureAlgorithm":{"shape":"string"},"subject":{"shape":"string"},"subjectKeyId":{"shape":{"union":["null","string"]}},"type":{"shape":{"literal":"certificate"}},"validity":{"shape":"string"},"version":{"shape":"number"}}}},"type":{"shape":{"literal":"certificate"}}}},{"object":{"certificates":{"shape":{"array":{"object":{"authorityKeyId":{"shape":{"union":["null","string"]}},"basicConstraints":{"shape":{"union":["null",{"object":{"ca":{"shape":"boolean"},"pathLen":{"shape":"number","optional":true}}}]}},"extendedKeyUsage":{"shape":{"union":["null",{"array":"string"}]}},"issuer":{"shape":"string"},"key":{"shape":"string"},"keyUsage":{"shape":{"union":["null",{"array":"string"}]}},"notAfter":{"shape":"string"},"notBefore":{"shape":"string"},"rolesAnywhere":{"shape":{"object":{"dropped":{"shape":{"array":{"object":{"reason":{"shape":"string"},"tag":{"shape":"string"},"value":{"shape":"string"}}}}},"roleSessionName":{"shape":"string"},"sourceIdentity":{"shape":"string"},"tags":{"shape":{"record":"string"}}}}},"sans":{"shape":{"array":"string"}},"selfSigned":{"shape":"boolean"},"serialDecimal":{"shape":"string"},"serialHex":{"shape":"string"},"sha1":{"shape":"string"},"sha256":{"shape":"string"},"signatureAlgorithm":{"shape":"string"},"subject":{"shape":"string"},"subjectKeyId":{"shape":{"union":["null","string"]}},"type":{"shape":{"literal":"certificate"}},"validity":{"shape":"string"},"version":{"shape":"number"}}}}},"type":{"shape":{"literal":"bundle"}}}},{"object":{"crl":{"shape":{"object":{"authorityKeyId":{"shape":{"union":["null","string"]}},"crlNumber":{"shape":{"union":["null","string"]}},"derBytes":{"shape":"number"},"entries":{"shape":"number"},"file":{"shape":"string"},"issuer":{"shape":"string"},"nextUpdate":{"shape":{"union":["null","string"]}},"pemBytes":{"shape":"number"},"reasons":{"shape":{"record":"number"}},"revoked":{"shape":{"array":{"object":{"invalidityDate":{"shape":{"union":["null","string"]}},"reason":{"shape":{"union":["null","string"]}},"revocationDate":{"shape":"string"},"serial":{"shape":"string"}}}},"optional":true},"signatureAlgorithm":{"shape":"string"},"signatureValid":{"shape":{"union":["boolean","null"]}},"thisUpdate":{"shape":"string"},"version":{"shape":"number"}}}},"type":{"shape":{"literal":"crl"}}}},{"object":{"csr":{"shape":{"object":{"key":{"shape":"string"},"sans":{"shape":{"array":"string"}},"signature":{"shape":"string"},"subject":{"shape":"string"}}}},"type":{"shape":{"literal":"csr"}}}}]},
  'pki.issue.batch.result': {"object":{"alreadyDone":{"shape":"number"},"batch":{"shape":{"union":["null","number"]}},"certificates":{"shape":{"array":{"object":{"issuer":{"shape":"string"},"notAfter":{"shape":"string"},"notBefore":{"shape":"string"},"out":{"shape":"string"},"profile":{"shape":"string"},"sans":{"shape":{"array":"string"}},"serial":{"shape":"string"},"sha256":{"shape":"string"},"subject":{"shape":"string"}}}}},"interrupted":{"shape":{"union":["null",{"literal":"SIGINT"},{"literal":"SIGTERM"}]}},"issued":{"shape":"number"},"issuer":{"shape":"string"},"outDir":{"shape":"string"},"outDirCreated":{"shape":"boolean"},"profile":{"shape":"string"},"removedTemporaries":{"shape":"number"},"rewritten":{"shape":"number"},"total":{"shape":"number"}}},
  'pki.issue.result': {"object":{"chainCertificates":{"shape":"number"},"chainNote":{"shape":"string","optional":true},"chainOut":{"shape":{"union":["null","string"]}},"issuer":{"shape":"string"},"keyOut":{"shape":{"union":["null","string"]}},"notAfter":{"shape":"string"},"notBefore":{"shape":"string"},"out":{"shape":{"union":["null","string"]}},"pem":{"shape":"string"},"profile":{"shape":"string"},"sans":{"shape":{"array":"string"}},"serial":{"shape":"string"},"sha256":{"shape":"string"},"subject":{"shape":"string"}}},
  'pki.lint.result': {"object":{"errors":{"shape":"number"},"results":{"shape":{"array":{"object":{"as":{"shape":{"union":[{"literal":"anchor-bundle"},{"literal":"ca"},{"literal":"crl"},{"literal":"leaf"}]}},"file":{"shape":"string"},"findings":{"shape":{"array":{"object":{"code":{"shape":"string"},"field":{"shape":"string"},"fix":{"shape":"string"},"message":{"shape":"string"},"severity":{"shape":{"union":[{"literal":"error"},{"literal":"notice"},{"literal":"warning"}]}}}}}},"subject":{"shape":{"union":["null","string"]}}}}}}}},
  'pki.list.result': {"array":{"object":{"isCa":{"shape":"boolean"},"issuer":{"shape":"string"},"notAfter":{"shape":"string"},"notBefore":{"shape":"string"},"profile":{"shape":"string"},"revocation":{"shape":{"union":["null",{"object":{"invalidityDate":{"shape":{"union":["null","string"]}},"reason":{"shape":"string"},"revokedAt":{"shape":"string"}}}]}},"sans":{"shape":{"array":"string"}},"serial":{"shape":"string"},"sha256":{"shape":{"union":["null","string"]}},"status":{"shape":{"union":[{"literal":"expired"},{"literal":"revoked"},{"literal":"valid"}]}},"subject":{"shape":"string"}}}},
  'pki.node.join.result': {"object":{"audit":{"shape":{"object":{"hash":{"shape":"string"},"seq":{"shape":"number"}}}},"auditRows":{"shape":"number"},"cas":{"shape":{"array":{"object":{"access":{"shape":{"union":[{"literal":"file"},{"literal":"pkcs11"},{"literal":"store"}]}},"keyEncrypted":{"shape":"boolean"},"keyRef":{"shape":"string"},"name":{"shape":"string"},"needs":{"shape":"string"},"status":{"shape":{"union":[{"literal":"active"},{"literal":"pending"},{"literal":"retired"},{"literal":"revoked"}]}}}}}},"config":{"shape":"string"},"dir":{"shape":"string"},"needs":{"shape":{"array":"string"}},"store":{"shape":"string"}}},
  'pki.preview.result': {"object":{"chainCertificates":{"shape":"number"},"dropped":{"shape":{"array":{"object":{"reason":{"shape":"string"},"tag":{"shape":"string"},"value":{"shape":"string"}}}}},"exitCode":{"shape":"number"},"issuer":{"shape":"string"},"mappings":{"shape":{"object":{"x509Issuer":{"shape":{"array":"string"}},"x509SAN":{"shape":{"array":"string"}},"x509Subject":{"shape":{"array":"string"}}}}},"roleSessionName":{"shape":"string"},"serial":{"shape":"string"},"sourceIdentity":{"shape":"string"},"sourceIdentityNote":{"shape":{"union":["null","string"]}},"subject":{"shape":"string"},"tags":{"shape":{"record":"string"}},"warnings":{"shape":{"array":"string"}}}},
  'pki.profile.import.result': {"object":{"ignored":{"shape":{"array":"string"}},"profiles":{"shape":{"array":{"object":{"file":{"shape":"string"},"name":{"shape":"string"}}}}}}},
  'pki.renew.result': {"object":{"issuer":{"shape":"string"},"keyOut":{"shape":{"union":["null","string"]}},"notAfter":{"shape":"string"},"notBefore":{"shape":"string"},"oldSerial":{"shape":"string"},"out":{"shape":"string"},"profile":{"shape":"string"},"revokedOld":{"shape":{"union":["null","string"]}},"sans":{"shape":{"array":"string"}},"serial":{"shape":"string"},"sha256":{"shape":"string"},"subject":{"shape":"string"}}},
  'pki.restore.result': {"object":{"auditHead":{"shape":{"union":["null","string"]}},"auditRows":{"shape":"number"},"cas":{"shape":{"array":"string"}},"createdAt":{"shape":"string"},"dir":{"shape":"string"},"file":{"shape":"string"},"files":{"shape":"number"},"source":{"shape":"string"}}},
  'pki.revoke.batch.result': {"object":{"certificates":{"shape":{"array":{"object":{"isCa":{"shape":"boolean"},"issuer":{"shape":"string"},"notAfter":{"shape":"string"},"notBefore":{"shape":"string"},"profile":{"shape":"string"},"revocation":{"shape":{"union":["null",{"object":{"invalidityDate":{"shape":{"union":["null","string"]}},"reason":{"shape":"string"},"revokedAt":{"shape":"string"}}}]}},"sans":{"shape":{"array":"string"}},"serial":{"shape":"string"},"sha256":{"shape":{"union":["null","string"]}},"status":{"shape":{"union":[{"literal":"expired"},{"literal":"revoked"},{"literal":"valid"}]}},"subject":{"shape":"string"}}}}},"issuer":{"shape":"string"},"revoked":{"shape":"number"}}},
  'pki.revoke.result': {"object":{"isCa":{"shape":"boolean"},"issuer":{"shape":"string"},"notAfter":{"shape":"string"},"notBefore":{"shape":"string"},"profile":{"shape":"string"},"reasonName":{"shape":"string"},"revocation":{"shape":{"union":["null",{"object":{"invalidityDate":{"shape":{"union":["null","string"]}},"reason":{"shape":"string"},"revokedAt":{"shape":"string"}}}]}},"sans":{"shape":{"array":"string"}},"serial":{"shape":"string"},"sha256":{"shape":{"union":["null","string"]}},"status":{"shape":{"union":[{"literal":"expired"},{"literal":"revoked"},{"literal":"valid"}]}},"subject":{"shape":"string"}}},
  'pki.rotate.abort.result': {"object":{"anchor":{"shape":"string"},"calls":{"shape":{"array":"string"}},"dryRun":{"shape":"boolean"},"forced":{"shape":"number"},"new":{"shape":"string"},"old":{"shape":"string"},"phase":{"shape":{"union":[{"literal":"aborted"},{"literal":"aborting"},{"literal":"finished"},{"literal":"finishing"},{"literal":"started"},{"literal":"starting"},{"literal":"switched"}]}}}},
  'pki.rotate.finish.result': {"object":{"anchor":{"shape":"string"},"calls":{"shape":{"array":"string"}},"dryRun":{"shape":"boolean"},"forced":{"shape":"number"},"new":{"shape":"string"},"old":{"shape":"string"},"phase":{"shape":{"union":[{"literal":"aborted"},{"literal":"aborting"},{"literal":"finished"},{"literal":"finishing"},{"literal":"started"},{"literal":"starting"},{"literal":"switched"}]}}}},
  'pki.rotate.plan.result': {"object":{"anchor":{"shape":"string"},"anchorChange":{"shape":"boolean"},"bundle":{"shape":{"object":{"after":{"shape":{"array":"string"}},"before":{"shape":{"array":"string"}},"during":{"shape":{"array":"string"}}}}},"crlCas":{"shape":{"array":"string"}},"earliestFinish":{"shape":"string"},"new":{"shape":"string"},"newExists":{"shape":"boolean"},"old":{"shape":"string"},"oldLeaves":{"shape":{"object":{"count":{"shape":"number"},"latestNotAfter":{"shape":{"union":["null","string"]}},"sample":{"shape":{"array":{"object":{"isCa":{"shape":"boolean"},"issuer":{"shape":"string"},"notAfter":{"shape":"string"},"notBefore":{"shape":"string"},"profile":{"shape":"string"},"revocation":{"shape":{"union":["null",{"object":{"invalidityDate":{"shape":{"union":["null","string"]}},"reason":{"shape":"string"},"revokedAt":{"shape":"string"}}}]}},"sans":{"shape":{"array":"string"}},"serial":{"shape":"string"},"sha256":{"shape":{"union":["null","string"]}},"status":{"shape":{"union":[{"literal":"expired"},{"literal":"revoked"},{"literal":"valid"}]}},"subject":{"shape":"string"}}}}}}}},"otherAnchors":{"shape":{"array":{"object":{"bundle":{"shape":{"array":"string"}},"message":{"shape":"string"},"name":{"shape":"string"},"trustsNew":{"shape":"boolean"}}}}},"preflight":{"shape":{"array":{"object":{"check":{"shape":"string"},"message":{"shape":"string"},"ok":{"shape":"boolean"}}}}},"revokedUnexpired":{"shape":"number"},"rollback":{"shape":"string"},"steps":{"shape":{"array":{"object":{"actions":{"shape":{"array":"string"}},"command":{"shape":"string"},"step":{"shape":"string"},"when":{"shape":"string"}}}}},"warnings":{"shape":{"array":"string"}}}},
  'pki.rotate.start.result': {"union":[{"object":{"anchor":{"shape":"string"},"calls":{"shape":{"array":"string"}},"created":{"shape":"null"},"dryRun":{"shape":"boolean"},"new":{"shape":"string"},"old":{"shape":"string"},"otherAnchors":{"shape":{"array":"string"}},"phase":{"shape":{"union":["null",{"literal":"aborted"},{"literal":"aborting"},{"literal":"finished"},{"literal":"finishing"},{"literal":"started"},{"literal":"starting"},{"literal":"switched"}]}},"preflight":{"shape":{"array":{"object":{"check":{"shape":"string"},"message":{"shape":"string"},"ok":{"shape":"boolean"}}}}}}},{"object":{"anchor":{"shape":"string"},"calls":{"shape":{"array":"string"}},"created":{"shape":{"object":{"ca":{"shape":"string"},"parent":{"shape":{"union":["null","string"]}},"root":{"shape":"boolean"}}}},"dryRun":{"shape":"boolean"},"new":{"shape":"string"},"old":{"shape":"string"},"otherAnchors":{"shape":{"array":"string"}},"phase":{"shape":"null"},"preflight":{"shape":{"array":{"object":{"check":{"shape":"string"},"message":{"shape":"string"},"ok":{"shape":"boolean"}}}}}}},{"object":{"anchor":{"shape":"string"},"calls":{"shape":{"array":"string"}},"created":{"shape":{"union":["null",{"object":{"ca":{"shape":"string"},"parent":{"shape":{"union":["null","string"]}},"root":{"shape":"boolean"}}}]}},"dryRun":{"shape":"boolean"},"new":{"shape":"string"},"old":{"shape":"string"},"otherAnchors":{"shape":{"array":"string"}},"phase":{"shape":{"union":[{"literal":"aborted"},{"literal":"aborting"},{"literal":"finished"},{"literal":"finishing"},{"literal":"started"},{"literal":"starting"},{"literal":"switched"}]}},"preflight":{"shape":{"array":{"object":{"check":{"shape":"string"},"message":{"shape":"string"},"ok":{"shape":"boolean"}}}}}}}]},
  'pki.rotate.status.result': {"union":[{"object":{"anchor":{"shape":"string"},"due":{"shape":"boolean"},"eta":{"shape":"null"},"exitCode":{"shape":"number"},"message":{"shape":"string"},"next":{"shape":"null"},"oldLeaves":{"shape":"null"},"revokedUnexpired":{"shape":"number"},"rotation":{"shape":"null"}}},{"object":{"anchor":{"shape":"string"},"due":{"shape":"boolean"},"eta":{"shape":{"union":["null","string"]}},"exitCode":{"shape":"number"},"message":{"shape":"string"},"next":{"shape":{"union":["null","string"]}},"oldLeaves":{"shape":{"object":{"count":{"shape":"number"},"latestNotAfter":{"shape":{"union":["null","string"]}},"sample":{"shape":{"array":{"object":{"isCa":{"shape":"boolean"},"issuer":{"shape":"string"},"notAfter":{"shape":"string"},"notBefore":{"shape":"string"},"profile":{"shape":"string"},"revocation":{"shape":{"union":["null",{"object":{"invalidityDate":{"shape":{"union":["null","string"]}},"reason":{"shape":"string"},"revokedAt":{"shape":"string"}}}]}},"sans":{"shape":{"array":"string"}},"serial":{"shape":"string"},"sha256":{"shape":{"union":["null","string"]}},"status":{"shape":{"union":[{"literal":"expired"},{"literal":"revoked"},{"literal":"valid"}]}},"subject":{"shape":"string"}}}}}}}},"revokedUnexpired":{"shape":"number"},"rotation":{"shape":{"object":{"anchor":{"shape":"string"},"anchorChange":{"shape":"boolean"},"bundle":{"shape":{"object":{"after":{"shape":{"array":"string"}},"before":{"shape":{"array":"string"}},"during":{"shape":{"array":"string"}}}}},"closedForIssuance":{"shape":{"array":"string"}},"crlCas":{"shape":{"array":"string"}},"endedAt":{"shape":{"union":["null","string"]}},"id":{"shape":"number"},"new":{"shape":"string"},"now":{"shape":"string"},"old":{"shape":"string"},"phase":{"shape":{"union":[{"literal":"aborted"},{"literal":"aborting"},{"literal":"finished"},{"literal":"finishing"},{"literal":"started"},{"literal":"starting"},{"literal":"switched"}]}},"startedAt":{"shape":"string"},"switchedAt":{"shape":{"union":["null","string"]}}}}}}}]},
  'pki.rotate.switch.result': {"object":{"anchor":{"shape":"string"},"calls":{"shape":{"array":"string"}},"closed":{"shape":{"array":"string"}},"dryRun":{"shape":"boolean"},"new":{"shape":"string"},"old":{"shape":"string"},"phase":{"shape":{"union":[{"literal":"aborted"},{"literal":"aborting"},{"literal":"finished"},{"literal":"finishing"},{"literal":"started"},{"literal":"starting"},{"literal":"switched"}]}}}},
  'pki.show.result': {"union":[{"object":{"isCa":{"shape":"boolean"},"issuedAt":{"shape":"string"},"issuer":{"shape":"string"},"notAfter":{"shape":"string"},"notBefore":{"shape":"string"},"out":{"shape":"unknown"},"pem":{"shape":{"union":["null","string"]}},"profile":{"shape":"string"},"requestedBy":{"shape":"string"},"revocation":{"shape":{"union":["null",{"object":{"invalidityDate":{"shape":{"union":["null","string"]}},"reason":{"shape":"string"},"revokedAt":{"shape":"string"}}}]}},"sans":{"shape":{"array":"string"}},"serial":{"shape":"string"},"sha256":{"shape":{"union":["null","string"]}},"source":{"shape":"string"},"status":{"shape":{"union":[{"literal":"expired"},{"literal":"revoked"},{"literal":"valid"}]}},"subject":{"shape":"string"}}},{"object":{"isCa":{"shape":"boolean"},"issuedAt":{"shape":"string"},"issuer":{"shape":"string"},"notAfter":{"shape":"string"},"notBefore":{"shape":"string"},"pem":{"shape":{"union":["null","string"]}},"profile":{"shape":"string"},"requestedBy":{"shape":"string"},"revocation":{"shape":{"union":["null",{"object":{"invalidityDate":{"shape":{"union":["null","string"]}},"reason":{"shape":"string"},"revokedAt":{"shape":"string"}}}]}},"sans":{"shape":{"array":"string"}},"serial":{"shape":"string"},"sha256":{"shape":{"union":["null","string"]}},"source":{"shape":"string"},"status":{"shape":{"union":[{"literal":"expired"},{"literal":"revoked"},{"literal":"valid"}]}},"subject":{"shape":"string"}}}]},
  'pki.status.result': {"object":{"anchors":{"shape":{"array":{"object":{"arn":{"shape":"string"},"cas":{"shape":{"array":"string"}},"name":{"shape":"string"},"stale":{"shape":{"array":"string"}}}}}},"cas":{"shape":{"array":{"record":"unknown"}}},"checks":{"shape":{"array":{"object":{"level":{"shape":{"union":[{"literal":"critical"},{"literal":"ok"},{"literal":"warning"}]}},"message":{"shape":"string"},"what":{"shape":"string"}}}}},"exitCode":{"shape":"number"},"now":{"shape":"string"},"rotations":{"shape":{"array":{"object":{"anchor":{"shape":"string"},"due":{"shape":"boolean"},"eta":{"shape":{"union":["null","string"]}},"next":{"shape":{"union":["null","string"]}},"phase":{"shape":{"union":[{"literal":"aborted"},{"literal":"aborting"},{"literal":"finished"},{"literal":"finishing"},{"literal":"started"},{"literal":"starting"},{"literal":"switched"}]}}}}}},"status":{"shape":{"union":[{"literal":"critical"},{"literal":"ok"},{"literal":"warning"}]}}}},
  'pki.store.migrate.result': {"object":{"auditHead":{"shape":{"union":["null","string"]}},"auditRows":{"shape":"number"},"dir":{"shape":"string"},"from":{"shape":"string"},"keysMoved":{"shape":{"array":"string"}},"tables":{"shape":{"array":{"object":{"rows":{"shape":"number"},"table":{"shape":"string"}}}}},"to":{"shape":"string"}}},
  'pki.target.add.result': {"object":{"account":{"shape":{"union":["null","string"]}},"awsProfile":{"shape":{"union":["null","string"]}},"createdAt":{"shape":"string"},"endpoint":{"shape":{"union":["null","string"]}},"name":{"shape":"string"},"region":{"shape":"string"},"roleArn":{"shape":{"union":["null","string"]}}}},
  'pki.target.list.result': {"array":{"object":{"account":{"shape":{"union":["null","string"]}},"anchors":{"shape":{"array":"string"}},"awsProfile":{"shape":{"union":["null","string"]}},"createdAt":{"shape":"string"},"endpoint":{"shape":{"union":["null","string"]}},"name":{"shape":"string"},"region":{"shape":"string"},"roleArn":{"shape":{"union":["null","string"]}}}}},
  'pki.target.remove.result': {"object":{"name":{"shape":"string"},"removed":{"shape":"boolean"}}},
  'pki.verify.result': {"object":{"at":{"shape":"string"},"exitCode":{"shape":"number"},"failure":{"shape":{"union":["null",{"object":{"certificate":{"shape":"string"},"check":{"shape":{"union":[{"literal":"ca"},{"literal":"chain"},{"literal":"chain-length"},{"literal":"critical-extension"},{"literal":"crl"},{"literal":"key-usage"},{"literal":"name-constraints"},{"literal":"path-length"},{"literal":"policy"},{"literal":"revoked"},{"literal":"signature"},{"literal":"structure"},{"literal":"validity"},{"literal":"weak-signature"}]}},"message":{"shape":"string"}}}]}},"mode":{"shape":"string"},"path":{"shape":{"array":"string"}},"valid":{"shape":"boolean"}}},
};
