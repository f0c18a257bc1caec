#!/usr/bin/env node
// Prints the pki.yaml and profile reference tables for the README (generated from the schemas).
import { schemaReference } from '../dist/config/reference.js';
import { CONFIG_SCHEMA } from '../dist/config/config.js';
import { PROFILE_SCHEMA } from '../dist/profile/load.js';
console.log('### pki.yaml\n\n' + schemaReference(CONFIG_SCHEMA) + '\n\n### Profiles\n\n' + schemaReference(PROFILE_SCHEMA));
