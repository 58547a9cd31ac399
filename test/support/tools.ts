/**
 * Command-line tools some tests drive (mosquitto clients, openssl, promtool, xmllint). On a developer machine a
 * missing tool skips those tests; in CI (`CI` set) it fails them, saying what to install, so a
 * green CI run means they ran.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface Tool {
  /** Whether tests that need the tool run (false only outside CI). */
  readonly run: boolean;
  /** Throws, naming the package to install, when the tool is missing (in CI). */
  require(): void;
}

export function tool(command: string, install: string): Tool {
  let present = false;
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    present = true;
  } catch {
    present = false;
  }
  const ci = Boolean(process.env.CI) && process.env.CI !== 'false' && process.env.CI !== '0';
  return {
    run: present || ci,
    require() {
      if (!present) throw new Error(`${command} is not installed, and CI needs it for this test: ${install}`);
    },
  };
}

export const mosquittoClients = tool('mosquitto_sub', 'apt-get install -y mosquitto-clients');
export const openssl = tool('openssl', 'apt-get install -y openssl');
/** Prometheus's checker of exposition, rules and configuration (Debian's `prometheus` ships it). */
export const promtool = tool('promtool', 'apt-get install -y --no-install-recommends prometheus');
/** libxml2's validator, for XML Schema checks (CAP 1.2). */
export const xmllint = tool('xmllint', 'apt-get install -y libxml2-utils');

/**
 * A self-signed certificate for 127.0.0.1 and localhost, made for this test run (P-256, one
 * day): `cert` is also the CA a client trusts.
 */
export function selfSignedCertificate(dir: string): { cert: string; key: string } {
  openssl.require();
  const cert = path.join(dir, 'broker-cert.pem');
  const key = path.join(dir, 'broker-key.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert],
    { stdio: 'ignore' },
  );
  fs.chmodSync(key, 0o600);
  return { cert, key };
}

/** The OASIS CAP 1.2 XML Schema (test/fixtures/cap/README.md says where it comes from). */
export const CAP_XSD = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'fixtures', 'cap', 'CAP-v1.2.xsd');

/** xmllint's verdict on a document against the CAP 1.2 schema: `- validates` when it does. */
export function validateCap(doc: string): { ok: boolean; output: string } {
  xmllint.require();
  const r = spawnSync('xmllint', ['--noout', '--nonet', '--schema', CAP_XSD, '-'], { input: doc, encoding: 'utf8' });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}
