/** The credential-process fast path parses flags as the yargs command does (same option table). */
import { describe, expect, it } from 'vitest';
import { parseFlags } from '../../src/cli/fast.js';

const REQUIRED = ['--certificate', 'c.pem', '--private-key', 'k.pem', '--trust-anchor-arn', 'ta', '--profile-arn', 'p', '--role-arn', 'r'];

describe('credential-process fast-path flags', () => {
  it('--name value and --name=value; the last of a repeated flag wins; defaults applied; numbers parsed', () => {
    expect(parseFlags([...REQUIRED, '--session-duration=900', '--region', 'eu-west-1', '--region', 'us-east-2', '--dir', 'x', '--debug'])).toEqual({
      certificate: 'c.pem', privateKey: 'k.pem', trustAnchorArn: 'ta', profileArn: 'p', roleArn: 'r', sessionDuration: 900, region: 'us-east-2', timeout: 30,
    });
  });
  it('usage errors: unknown flag, missing value, missing required, a non-number, a refused helper option', () => {
    expect(() => parseFlags([...REQUIRED, '--bogus', 'x'])).toThrow(/Unknown argument: bogus/);
    expect(() => parseFlags([...REQUIRED, '--region'])).toThrow(/--region needs a value/);
    expect(() => parseFlags(REQUIRED.slice(2))).toThrow(/Missing required argument: certificate/);
    expect(() => parseFlags([...REQUIRED, '--session-duration', 'soon'])).toThrow(/not a number/);
    expect(() => parseFlags([...REQUIRED, '--pkcs8-password', 'hunter2'])).toThrow(expect.objectContaining({ code: 'USAGE_UNSUPPORTED_OPTION', message: expect.not.stringContaining('hunter2') }));
    expect(() => parseFlags([...REQUIRED, 'stray'])).toThrow(/unexpected argument "stray"/);
  });
  it('--insecure-skip-tls-verify is a boolean: alone, or =true / =false; it never takes the next argument', () => {
    expect(parseFlags(['--insecure-skip-tls-verify', ...REQUIRED])).toMatchObject({ insecureSkipTlsVerify: true, certificate: 'c.pem' });
    expect(parseFlags([...REQUIRED, '--insecure-skip-tls-verify=false'])).toMatchObject({ insecureSkipTlsVerify: false });
    expect(parseFlags([...REQUIRED, '--insecure-skip-tls-verify=true'])).toMatchObject({ insecureSkipTlsVerify: true });
    expect(parseFlags(REQUIRED)).not.toHaveProperty('insecureSkipTlsVerify');
    expect(() => parseFlags([...REQUIRED, '--insecure-skip-tls-verify=yes'])).toThrow(/give --insecure-skip-tls-verify alone/);
  });
});
