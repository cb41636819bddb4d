// tabraft.js — loads tabraft.wasm and resolves with the JavaScript API that
// web/tabraft.d.ts describes:
//
//   import { loadTabraft } from "/tabraft.js";
//   const tabraft = await loadTabraft();
//   const m = await tabraft.join({ room: "demo" });
//
// The program is loaded once per page: later calls return the same promise
// (a failed load may be retried). Go's wasm_exec.js is loaded first when the
// page has no `Go` yet, from next to the wasm (/wasm_exec.js by default).
// The Go side sets globalThis.tabraft, then calls globalThis.__tabraftReady,
// which this loader defines.

let loading = null;

/**
 * Loads tabraft.wasm (and wasm_exec.js) once; resolves with the API.
 * @param {string} [wasmURL="/tabraft.wasm"]
 * @returns {Promise<import("./tabraft").Tabraft>}
 */
export function loadTabraft(wasmURL = "/tabraft.wasm") {
  if (!loading) {
    loading = load(wasmURL).catch((err) => {
      loading = null; // let a later call try again
      throw err;
    });
  }
  return loading;
}

// Also reachable without modules (the console, tests): globalThis.loadTabraft.
globalThis.loadTabraft = loadTabraft;

async function load(wasmURL) {
  if (globalThis.tabraft) {
    return globalThis.tabraft;
  }
  const url = new URL(wasmURL, globalThis.location?.href);
  if (typeof globalThis.Go !== "function") {
    await loadScript(new URL("wasm_exec.js", url).href);
    if (typeof globalThis.Go !== "function") {
      throw new Error("tabraft: wasm_exec.js did not define Go");
    }
  }
  const go = new globalThis.Go();
  const instance = await instantiate(url.href, go.importObject);
  return new Promise((resolve, reject) => {
    globalThis.__tabraftReady = (api) => {
      delete globalThis.__tabraftReady;
      resolve(api);
    };
    // go.run settles when the program exits: before it is ready, that is a
    // failed load (the Go side printed why in the console).
    go.run(instance).then(
      () => reject(new Error("tabraft: the wasm program exited before it was ready")),
      (err) => reject(new Error("tabraft: the wasm program failed: " + err)),
    );
  });
}

// instantiate compiles the wasm while it downloads; a server that does not
// send application/wasm makes instantiateStreaming fail: then it downloads
// the whole file first.
async function instantiate(url, imports) {
  if (WebAssembly.instantiateStreaming) {
    try {
      const { instance } = await WebAssembly.instantiateStreaming(fetchOK(url), imports);
      return instance;
    } catch (err) {
      if (err instanceof FetchError) {
        throw err;
      }
      console.warn("tabraft: streaming compilation failed, downloading the whole wasm:", err);
    }
  }
  const resp = await fetchOK(url);
  const { instance } = await WebAssembly.instantiate(await resp.arrayBuffer(), imports);
  return instance;
}

class FetchError extends Error {}

async function fetchOK(url) {
  let resp;
  try {
    resp = await fetch(url);
  } catch (err) {
    throw new FetchError(`tabraft: fetching ${url}: ${err}`);
  }
  if (!resp.ok) {
    throw new FetchError(`tabraft: fetching ${url}: HTTP ${resp.status}`);
  }
  return resp;
}

function loadScript(src) {
  if (typeof document === "undefined") {
    importScripts(src); // a worker
    return Promise.resolve();
  }
  return new Promise((resolve, reject) => {
    const s = document.createElement("script");
    s.src = src;
    s.onload = () => resolve();
    s.onerror = () => reject(new Error(`tabraft: loading ${src} failed`));
    document.head.appendChild(s);
  });
}
