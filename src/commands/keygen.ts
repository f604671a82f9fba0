import { generateSigningKey } from '../audit/signing-key.js';
import type { Command } from './command.js';

export const keygenCommand: Command = {
  summary: 'print a new Ed25519 key pair for signed checkpoints (RUNLEDGER_SIGNING_KEY=... and the public key)',
  options: ['(none)     prints RUNLEDGER_SIGNING_KEY=... (keep secret) and RUNLEDGER_PUBLIC_KEY=... (publish)'],
  run: async () => {
    const { privateKey, publicKey } = generateSigningKey();
    // An env file: the server reads the first line, auditors keep the second.
    console.log(`RUNLEDGER_SIGNING_KEY=${privateKey}`);
    console.log(`RUNLEDGER_PUBLIC_KEY=${publicKey}`);
    return 0;
  },
};
