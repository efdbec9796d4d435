/**
 * SSH key pairs in OpenSSH's own formats, for the machines tsm creates: the login key
 * tsm uses (`id_ed25519`, like `ssh-keygen -t ed25519`) and the guest's host key, which
 * tsm hands to the guest at first boot and so knows before first contact.
 * ssh2 (loaded lazily: only create needs it) writes the OpenSSH private key format that
 * both sshd and ssh2 read.
 */
import { loadSsh2 } from "./load.js";

export interface SshKeyPair {
  /** `-----BEGIN OPENSSH PRIVATE KEY-----` file text, unencrypted. */
  privateKey: string;
  /** `ssh-ed25519 AAAA... comment` */
  publicKey: string;
  /** The public key blob, for fingerprints. */
  publicBlob: Buffer;
}

export async function generateSshKeyPair(comment: string): Promise<SshKeyPair> {
  const { utils } = await loadSsh2();
  const keys = await new Promise<{ private: string; public: string }>((resolve, reject) =>
    utils.generateKeyPair("ed25519", { comment }, (err, k) => (err ? reject(err) : resolve(k))),
  );
  const publicKey = keys.public.trim();
  const blob = Buffer.from(publicKey.split(" ")[1] ?? "", "base64");
  return { privateKey: keys.private, publicKey, publicBlob: blob };
}
