// Run a wasi:cli/run component under jco on Node, in this one process:
//
//   node tools/jco/run.mjs COMPONENT.wasm [ARGS...]
//
// What `jco run` does (transpile with jco, instantiate with @bytecodealliance/preview2-shim's
// WASI, call `wasi:cli/run`; the component gets stdio and the whole network, as under `jco run`,
// and no files), except that:
// - one process: `jco run` spawns a second `node` for the component, which outlives a kill of
//   the first; here a kill ends the component too;
// - the component sees its own name as argument 0 and ARGS after it, and no environment
//   variables (`jco run` hands it all of Node's);
// - `output-stream.splice` is replaced (below): preview2-shim 0.26.1's throws a TypeError, a
//   trap, on every call.
// The exit status is the component's (wasi:cli/exit: 0 or 1), or 1 if it traps.
//
// Not fixed here (it lives in the shim's worker thread): `tcp-socket.shutdown` destroys the
// socket whatever the shutdown type, so a half-close is a full close, the peer's later bytes
// are lost, and the connection's input pollable never fires again.

import { readFile } from "node:fs/promises";
import { basename, extname } from "node:path";
import process from "node:process";
import { transpile } from "@bytecodealliance/jco";
import { streams } from "@bytecodealliance/preview2-shim/io";
import { WASIShim } from "@bytecodealliance/preview2-shim/instantiation";

const [path, ...args] = process.argv.slice(2);
if (!path) {
  console.error("usage: node tools/jco/run.mjs COMPONENT.wasm [ARGS...]");
  process.exit(2);
}
const name = basename(path, extname(path));

// preview2-shim 0.26.1's `OutputStream.splice` reads a private field of the class it is defined
// on from its argument, an `InputStream` ("Cannot read private member #id from an object whose
// class did not declare it"; bytecodealliance/jco#577, fix #576 closed unmerged), and its
// worker's splice would never report the source's end. This one is splice as wasi:io defines
// it: `check-write`, then `read` of at most that many bytes, then `write` of what was read;
// an error from any of them (`closed` at the source's end) is splice's error.
streams.OutputStream.prototype.splice = function splice(src, len) {
  const permit = this.checkWrite();
  const n = permit < len ? permit : len;
  if (n === 0n) {
    return 0n;
  }
  const bytes = src.read(n);
  if (bytes.byteLength > 0) {
    this.write(bytes);
  }
  return BigInt(bytes.byteLength);
};

const { files } = await transpile(await readFile(path), {
  name,
  instantiation: "async",
  noTypescript: true,
  quiet: true,
});
const source = Buffer.from(files[`${name}.js`]).toString("base64");
const { instantiate } = await import(`data:text/javascript;base64,${source}`);
const imports = new WASIShim({ sandbox: { args: [name, ...args], env: {} } }).getImportObject();
const instance = await instantiate(
  (file) => WebAssembly.compile(files[file]),
  imports,
);
try {
  await instance.run.run();
} catch (e) {
  console.error(`${name}: ${e?.stack ?? e}`);
  process.exit(1);
}
// Let stdout drain, as `jco run` does.
await new Promise((resolve) => setTimeout(resolve));
process.exit(0);
