/** Every command, listed explicitly. */
import type { CommandDef, CommandGroup } from '../command.js';
import { anchorGroup } from './anchor.js';
import { auditGroup } from './audit.js';
import { backupCommand } from './backup.js';
import { caGroup } from './ca.js';
import { csrCommand } from './csr.js';
import { credentialGroup } from './credential.js';
import { credentialProcessCommand } from './credential-process.js';
import { crlGroup } from './crl.js';
import { emulatorGroup } from './emulator.js';
import { importGroup } from './import.js';
import { initCommand } from './init.js';
import { issueCommand } from './issue.js';
import { inspectCommand } from './inspect.js';
import { lintCommand } from './lint.js';
import { listCommand, showCommand } from './list.js';
import { previewCommand } from './preview.js';
import { renewCommand } from './renew.js';
import { restoreCommand } from './restore.js';
import { profileGroup } from './profile.js';
import { revokeCommand } from './revoke.js';
import { rotateGroup } from './rotate.js';
import { statusCommand } from './status.js';
import { targetGroup } from './target.js';
import { awsGroup } from './aws.js';
import { verifyCommand } from './verify.js';

export const COMMANDS: Array<CommandDef | CommandGroup> = [initCommand, caGroup, issueCommand, renewCommand, revokeCommand, listCommand, showCommand, crlGroup, anchorGroup, targetGroup, awsGroup, rotateGroup, auditGroup, backupCommand, restoreCommand, credentialProcessCommand, credentialGroup, previewCommand, lintCommand, inspectCommand, verifyCommand, statusCommand, emulatorGroup, importGroup, csrCommand, profileGroup];
