import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';

/** A new Ed25519 key pair: the private key as one-line base64 PKCS#8 DER, the public key as base64 of its raw 32 bytes. */
export function generateSigningKey(): { privateKey: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKey: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
    publicKey: rawPublicKey(publicKey).toString('base64'),
  };
}

/** RUNLEDGER_SIGNING_KEY: a PKCS#8 PEM, or base64 of the DER (what `runledger keygen` prints). */
export function parseSigningKey(text: string): KeyObject {
  let key: KeyObject;
  try {
    key = text.includes('-----BEGIN')
      ? createPrivateKey(text)
      : createPrivateKey({ key: Buffer.from(text.trim(), 'base64'), format: 'der', type: 'pkcs8' });
  } catch (error) {
    throw new Error('RUNLEDGER_SIGNING_KEY is not a PKCS#8 private key (PEM or base64 DER); make one with `runledger keygen`', { cause: error });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new Error(`RUNLEDGER_SIGNING_KEY must be an Ed25519 key, got ${key.asymmetricKeyType}; make one with \`runledger keygen\``);
  }
  return key;
}

/** The raw 32 bytes of an Ed25519 public key (from a public or private KeyObject). */
export function rawPublicKey(key: KeyObject): Buffer {
  const jwk = (key.type === 'public' ? key : createPublicKey(key)).export({ format: 'jwk' });
  return Buffer.from(jwk.x!, 'base64url');
}

/** A verifying key from the raw 32 bytes. */
export function publicKeyFromRaw(raw: Buffer): KeyObject {
  if (raw.length !== 32) throw new Error(`public_key: an Ed25519 public key is 32 bytes, got ${raw.length}`);
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
}
