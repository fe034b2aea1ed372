/* dlbook in the page: a "Run" button on every NumPy cell of a chapter or an exercise.
 *
 * tools/build_lite.py copies this file, Pyodide and the wheels it needs into
 * _build/html/_lite/ and adds <script defer src=".../_lite/dlbook_lite.js"
 * data-dlbook-lite=".../_lite/"> to the chapter and exercise pages. Everything is
 * loaded from there: no other host is contacted. The runtime starts on the first
 * click (about 50 MB, cached by the browser afterwards); each page has one Python
 * namespace, like a notebook kernel, and a click runs the earlier cells of the page
 * first if they have not run yet. Cells that use PyTorch or TensorFlow get a note
 * instead of a button; the set-up cell runs without its framework lines.
 */
(function () {
  "use strict";

  const script =
    document.currentScript || document.querySelector("script[data-dlbook-lite]");
  const ROOT = new URL(script.getAttribute("data-dlbook-lite"), document.baseURI).href;
  // The same patterns as FRAMEWORK_CELL and SETUP_CELL in dlbook_lite_runner.py (tested).
  const FRAMEWORK = new RegExp(
    String.raw`(^|[^\w.])(torch|tensorflow|keras|tf)\b|import_(torch|tensorflow)\b` +
      String.raw`|(torch|tensorflow)_backend\b|\w_(tf|torch)\b|[\"'](torch|tensorflow)[\"']`,
    "m"
  );
  const SETUP = new RegExp(String.raw`seed_everything\(|dlbook\.require\(`);

  const state = { runtime: null, cells: [], loadSeconds: null, firstResultSeconds: null };
  const t0 = performance.now();

  function addStyle() {
    const css = `
      .dlbook-lite-bar { display: flex; gap: .6em; align-items: center; margin: .2em 0;
        font-size: .85em; }
      .dlbook-lite-bar button { border: 1px solid var(--pst-color-border, #ccc);
        border-radius: 4px; background: var(--pst-color-surface, #f7f7f7);
        color: var(--pst-color-text-base, #222); padding: .1em .7em; cursor: pointer; }
      .dlbook-lite-bar button:disabled { opacity: .6; cursor: progress; }
      .dlbook-lite-status, .dlbook-lite-note { color: var(--pst-color-text-muted, #666); }
      .dlbook-lite-output { border-left: 3px solid #2a7ae2; margin: .3em 0 .8em;
        padding: .2em .6em; }
      .dlbook-lite-output pre { margin: .2em 0; white-space: pre-wrap; }
      .dlbook-lite-output pre.dlbook-lite-error { color: #b00020; }
      .dlbook-lite-output img { max-width: 100%; }
      .cell_input pre[contenteditable] { outline: none; }`;
    const style = document.createElement("style");
    style.textContent = css;
    document.head.appendChild(style);
  }

  function loadScript(src) {
    return new Promise((resolve, reject) => {
      const tag = document.createElement("script");
      tag.src = src;
      tag.onload = resolve;
      tag.onerror = () => reject(new Error("could not load " + src));
      document.head.appendChild(tag);
    });
  }

  function runtime(status) {
    if (!state.runtime) {
      state.runtime = (async () => {
        const start = performance.now();
        status("starting Python in the page…");
        const manifest = await (await fetch(ROOT + "manifest.json")).json();
        await loadScript(ROOT + "pyodide/pyodide.js");
        const py = await globalThis.loadPyodide({ indexURL: ROOT + "pyodide/" });
        status("loading " + manifest.preload.join(", ") + "…");
        await py.loadPackage(manifest.preload, { messageCallback: () => {} });
        const wheels = manifest.wheels.map((w) => ROOT + w); // tqdm, then dlbook
        await py.loadPackage(wheels, { messageCallback: () => {} });
        const runner = await (await fetch(ROOT + "dlbook_lite_runner.py")).text();
        py.FS.writeFile("/home/pyodide/_dlbook_lite.py", runner);
        py.runPython("import _dlbook_lite; _dlbook_lite.set_up_matplotlib()");
        state.loadSeconds = (performance.now() - start) / 1000;
        return py;
      })();
      state.runtime.catch(() => {
        state.runtime = null; // a failed start can be retried
      });
    }
    return state.runtime;
  }

  function show(cell, result) {
    let box = cell.element.querySelector(":scope > .dlbook-lite-output");
    if (!box) {
      box = document.createElement("div");
      box.className = "dlbook-lite-output";
      cell.input.after(box);
    }
    box.replaceChildren();
    if (result.stdout) {
      const pre = document.createElement("pre");
      pre.className = "dlbook-lite-stdout";
      pre.textContent = result.stdout;
      box.appendChild(pre);
    }
    for (const png of result.images || []) {
      const img = document.createElement("img");
      img.alt = "a figure drawn in the page";
      img.src = "data:image/png;base64," + png;
      box.appendChild(img);
    }
    if (result.error) {
      const pre = document.createElement("pre");
      pre.className = "dlbook-lite-error";
      pre.textContent = result.error;
      box.appendChild(pre);
    }
    if (!box.childNodes.length) {
      const pre = document.createElement("pre");
      pre.className = "dlbook-lite-stdout";
      pre.textContent = "(ran; no output)";
      box.appendChild(pre);
    }
  }

  async function runOne(py, cell) {
    const run = py.pyimport("_dlbook_lite").run;
    const code = cell.pre.innerText;
    const result = JSON.parse(run(code, cell.kind === "setup"));
    cell.ran = true;
    cell.element.dataset.liteRan = result.error ? "error" : "ok";
    show(cell, result);
    if (state.firstResultSeconds === null) {
      state.firstResultSeconds = (performance.now() - t0) / 1000;
    }
    return result;
  }

  let queue = Promise.resolve();

  function runCell(index) {
    const cell = state.cells[index];
    const job = queue.then(async () => {
      const buttons = state.cells.filter((c) => c.button).map((c) => c.button);
      buttons.forEach((b) => (b.disabled = true));
      try {
        const py = await runtime(cell.status);
        const before = state.cells.filter(
          (c) => c.index < index && !c.ran && c.kind !== "framework"
        );
        for (const [i, earlier] of before.entries()) {
          cell.status(`running the earlier cells first (${i + 1} of ${before.length})…`);
          await runOne(py, earlier);
        }
        cell.status("running…");
        const result = await runOne(py, cell);
        cell.status(result.error ? "error (see below)" : "done");
        return result;
      } catch (err) {
        cell.status("could not start Python in the page: " + err.message);
        throw err;
      } finally {
        buttons.forEach((b) => (b.disabled = false));
      }
    });
    queue = job.catch(() => {});
    return job;
  }

  function setUp() {
    addStyle();
    const cells = document.querySelectorAll("div.cell");
    let sawCode = false;
    cells.forEach((element) => {
      const input = element.querySelector(":scope > .cell_input");
      const pre = input && input.querySelector("pre");
      if (!pre) return;
      const code = pre.innerText;
      let kind = "numpy";
      if (!sawCode && SETUP.test(code)) kind = "setup";
      else if (FRAMEWORK.test(code)) kind = "framework";
      sawCode = true;
      const cell = { index: state.cells.length, element, input, pre, kind, ran: false };
      const bar = document.createElement("div");
      bar.className = "dlbook-lite-bar";
      if (kind === "framework") {
        const note = document.createElement("span");
        note.className = "dlbook-lite-note";
        note.textContent =
          "PyTorch / TensorFlow: run this cell locally, on Binder or on Colab.";
        bar.appendChild(note);
        cell.status = () => {};
      } else {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "dlbook-lite-run";
        button.textContent = "▶ Run in the page";
        button.title = "Runs this cell (and the earlier ones) with Python in your browser";
        const status = document.createElement("span");
        status.className = "dlbook-lite-status";
        bar.append(button, status);
        cell.button = button;
        cell.status = (text) => (status.textContent = text);
        button.addEventListener("click", () => runCell(cell.index).catch(() => {}));
        pre.setAttribute("contenteditable", "plaintext-only");
        pre.setAttribute("spellcheck", "false");
      }
      element.dataset.liteKind = kind;
      element.insertBefore(bar, input);
      state.cells.push(cell);
    });
  }

  window.dlbookLite = { state, runCell, root: ROOT };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
