/**
 * Throwaway certificates for TLS tests. node:crypto makes keys but cannot
 * sign X.509 certificates, so the `openssl` command (present wherever Node
 * is built with OpenSSL's CLI, and on the CI machines) does it: a CA, leaf
 * certificates for 127.0.0.1/localhost signed by it (server and client use),
 * and a leaf from an unrelated CA that members must refuse. EC P-256 keys:
 * generated in milliseconds.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** PEM file paths and contents of one certificate and its key. */
export interface TestCert {
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: string;
  readonly key: string;
}

/** A CA, certificates it signed, and one it did not. */
export interface TestPki {
  readonly caFile: string;
  readonly ca: string;
  /** Signed by `ca`, for 127.0.0.1 and localhost. */
  readonly node: TestCert;
  /** Signed by another CA: a stranger's certificate. */
  readonly stranger: TestCert;
}

function openssl(args: readonly string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

function makeCa(dir: string, name: string): void {
  openssl(["req", "-x509", ...EC, "-keyout", `${name}.key`, "-out", `${name}.pem`, "-days", "2", "-subj", `/CN=raftbus test ${name}`], dir);
}

function makeLeaf(dir: string, name: string, ca: string): TestCert {
  writeFileSync(join(dir, `${name}.ext`), "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n");
  openssl(["req", ...EC, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`], dir);
  openssl(["x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.pem`, "-CAkey", `${ca}.key`, "-CAcreateserial", "-out", `${name}.pem`, "-days", "2", "-extfile", `${name}.ext`], dir);
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}.key`);
  return { certFile, keyFile, cert: readFileSync(certFile, "utf8"), key: readFileSync(keyFile, "utf8") };
}

/** Writes a fresh PKI into `dir` (created if missing). */
export function makeTestPki(dir: string): TestPki {
  mkdirSync(dir, { recursive: true });
  makeCa(dir, "ca");
  makeCa(dir, "other-ca");
  const caFile = join(dir, "ca.pem");
  return { caFile, ca: readFileSync(caFile, "utf8"), node: makeLeaf(dir, "node", "ca"), stranger: makeLeaf(dir, "stranger", "other-ca") };
}
