/**
 * The `credential_process` command line that `pki aws config` writes into ~/.aws/config: `pki credential-process` or
 * the official `aws_signing_helper credential-process`, which take the same flags. Generated text for another
 * program's configuration, not an input of a use case: the one place outside src/cli/ that spells these flags.
 */
export interface CredentialProcessLine {
  certificate: string;
  privateKey: string;
  intermediates?: string;
  trustAnchorArn: string;
  profileArn: string;
  roleArn: string;
  sessionDuration?: number;
  endpoint?: string;
}

/** A shell word: left bare when it is safe, else single-quoted. */
export function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** `COMMAND credential-process --certificate ... --role-arn ...`, each word shell-quoted where needed. */
export function credentialProcessLine(command: string, p: CredentialProcessLine): string {
  const args = [
    'credential-process',
    '--certificate', p.certificate,
    '--private-key', p.privateKey,
    ...(p.intermediates ? ['--intermediates', p.intermediates] : []),
    '--trust-anchor-arn', p.trustAnchorArn,
    '--profile-arn', p.profileArn,
    '--role-arn', p.roleArn,
    ...(p.sessionDuration ? ['--session-duration', String(p.sessionDuration)] : []),
    ...(p.endpoint ? ['--endpoint', p.endpoint] : []),
  ];
  return `${command} ${args.map(shellWord).join(' ')}`;
}
