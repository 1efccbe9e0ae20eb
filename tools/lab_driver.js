// Drive one notebook in a running JupyterLab with headless Chromium and report what a reader sees.
//
// Usage: node tools/lab_driver.js < JOB.json > REPORT.json   (tools/check_lab.py writes the job)
//
// The job names the server (url, token), the browser (chromium), the notebook (a path relative to
// the server's root) and what to do: run every cell, move every slider, measure the controls at
// some window widths, save screenshots. The report holds what only the browser knows: the text of
// each rendered markdown cell, MyST's own error marks, the outputs, each slider's redraw time and
// track width. tools/check_lab.py turns it into problems.
"use strict";

const fs = require("fs");
const path = require("path");
const { chromium } = require("playwright-core");

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Text of the rendered markdown cells as a reader sees it: code, typeset math and hidden
// accessibility copies of the math are left out, so that what remains is prose.
function readMarkdown() {
  const skip = "pre, code, .katex, .MathJax, mjx-container, script, style, svg, .jp-InputArea-editor";
  return Array.from(document.querySelectorAll(".jp-Notebook .jp-MarkdownCell")).map((cell) => {
    const rendered = cell.querySelector(".jp-MarkdownOutput, .myst") || cell;
    const walker = document.createTreeWalker(rendered, NodeFilter.SHOW_TEXT, {
      acceptNode: (node) => (node.parentElement.closest(skip) ? NodeFilter.FILTER_REJECT
        : NodeFilter.FILTER_ACCEPT),
    });
    let text = "";
    while (walker.nextNode()) text += walker.currentNode.nodeValue;
    return {
      text,
      rendered: cell.classList.contains("jp-mod-rendered"),
      myst: rendered.classList.contains("myst"),
      unresolved_citations: Array.from(rendered.querySelectorAll('[title="Citation Not Found"]'))
        .map((e) => e.textContent.trim()),
      unknown_directives: Array.from(rendered.querySelectorAll(".myst-exercise-title, .myst-admonition-header"))
        .filter((e) => /Unknown (Directive|Role)/.test(e.textContent)).map((e) => e.textContent.trim()),
      code_blocks: rendered.querySelectorAll("pre").length,
      directives_as_code: Array.from(rendered.querySelectorAll('code[class*="language-{"]'))
        .map((e) => e.className),
    };
  });
}

// Each code cell's input prompt ("[3]:") and errors. A cell whose code is hidden (metadata
// jupyter.source_hidden, e.g. the Colab cell) shows a placeholder with an empty prompt instead.
function readOutputs() {
  const cells = Array.from(document.querySelectorAll(".jp-Notebook .jp-CodeCell"));
  const shown = (cell) => Array.from(cell.querySelectorAll(".jp-InputPrompt"))
    .filter((p) => !p.closest('[class*="Placeholder"]'));
  return cells.map((cell) => ({
    input_hidden: shown(cell).length === 0,
    prompt: (shown(cell)[0] || { textContent: "" }).textContent.trim(),
    errors: Array.from(cell.querySelectorAll(
      '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"],' +
      '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]'))
      .map((e) => e.textContent.slice(0, 300)),
  }));
}

// Accept a dialog JupyterLab may open while a notebook starts (e.g. "Select Kernel", when the kernel
// specs arrive late on a busy machine): the notebook's own kernel is the default choice.
async function acceptDialogs(page) {
  const accept = page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept");
  while (await accept.count()) {
    await accept.first().click();
    await sleep(300);
  }
}

// Poll ``predicate(arg)`` in the page until it returns true, accepting dialogs in between. After timeoutMs,
// throw an error naming ``what`` and the cells' prompts.
async function until(page, predicate, arg, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await acceptDialogs(page);
    if (await page.evaluate(predicate, arg)) return;
    if (Date.now() > deadline) {
      const prompts = await page.evaluate(() => Array.from(
        document.querySelectorAll(".jp-Notebook .jp-CodeCell .jp-InputPrompt")).map((p) => p.textContent.trim()
        || "(hidden)"));
      throw new Error(`${what}: not done in ${timeoutMs / 1000} s; prompts: ${prompts.join(" ")}`);
    }
    await sleep(250);
  }
}

// The notebook has a kernel (not "No Kernel", which the indicator also shows as idle), and it is idle.
function kernelIsIdle() {
  const name = document.querySelector(".jp-NotebookPanel .jp-Toolbar-kernelName");
  const status = document.querySelector(".jp-Notebook-ExecutionIndicator");
  return name !== null && !/^(No Kernel)?$/.test(name.textContent.trim())
    && status !== null && status.getAttribute("data-status") === "idle";
}

async function kernelIdle(page, timeoutMs) {
  await until(page, kernelIsIdle, null, timeoutMs, "waiting for the kernel");
}

// The notebook is open: all its cells are in the page, the markdown ones rendered, the kernel idle.
async function opened(page, cells, timeoutMs) {
  await until(page, (count) => {
    const all = document.querySelectorAll(".jp-NotebookPanel .jp-Notebook .jp-Cell");
    const markdown = Array.from(document.querySelectorAll(".jp-Notebook .jp-MarkdownCell"));
    return all.length === count && markdown.every((cell) => cell.classList.contains("jp-mod-rendered"));
  }, cells, timeoutMs, "opening the notebook");
  await kernelIdle(page, timeoutMs);
  await sleep(1000);  // the kernel's first status messages
  await kernelIdle(page, timeoutMs);
}

async function runAll(page, timeoutMs) {
  const started = Date.now();
  await page.click('.lm-MenuBar-itemLabel:text-is("Run")');
  await page.click('.lm-Menu-itemLabel:text-is("Run All Cells")');
  await until(page, () => {
    const prompts = Array.from(document.querySelectorAll(".jp-Notebook .jp-CodeCell .jp-InputPrompt"))
      .filter((p) => !p.closest('[class*="Placeholder"]'));
    const status = document.querySelector(".jp-Notebook-ExecutionIndicator");
    return prompts.every((p) => /\[\d+\]/.test(p.textContent))
      && status !== null && status.getAttribute("data-status") === "idle";
  }, null, timeoutMs, "Run All");
  return (Date.now() - started) / 1000;
}

// The figure a slider redraws: the image in the Output of the closest widget box that has one.
function figureOf(slider) {
  for (let box = slider.parentElement; box; box = box.parentElement) {
    const output = box.querySelector(".widget-output");
    if (output) return output;
    if (box.classList.contains("jp-OutputArea")) return null;
  }
  return null;
}

async function moveSliders(page, timeoutMs) {
  const count = await page.locator(".widget-slider").count();
  const results = [];
  for (let i = 0; i < count; i++) {
    const slider = page.locator(".widget-slider").nth(i);
    await slider.scrollIntoViewIfNeeded();
    const before = await slider.evaluate((s) => {
      const output = window.figureOf(s);
      const image = output && output.querySelector("img");
      const handle = s.querySelector(".noUi-handle");
      return {
        label: (s.querySelector(".widget-label") || { textContent: "" }).textContent.trim(),
        value: handle.getAttribute("aria-valuenow"),
        max: handle.getAttribute("aria-valuemax"),
        src: image ? image.src : null,
      };
    });
    const result = { label: before.label, value_before: before.value, has_figure: before.src !== null };
    const handle = slider.locator(".noUi-handle");
    await handle.focus();
    const started = Date.now();
    await page.keyboard.press(before.value === before.max ? "ArrowLeft" : "ArrowRight");
    try {
      await page.waitForFunction(([index, src]) => {
        const s = document.querySelectorAll(".widget-slider")[index];
        const output = window.figureOf(s);
        const image = output && output.querySelector("img");
        return image && image.complete && image.src !== src;
      }, [i, before.src], { timeout: timeoutMs, polling: 20 });
      result.redraw_s = (Date.now() - started) / 1000;
      result.redrawn = true;
    } catch (error) {
      result.redrawn = false;
      result.error = String(error).split("\n")[0];
    }
    result.value_after = await handle.getAttribute("aria-valuenow");
    await kernelIdle(page, timeoutMs);
    results.push(result);
  }
  return results;
}

// Width of each control's track or box at the current window size.
function measureControls() {
  return Array.from(document.querySelectorAll(".jp-Notebook .jupyter-widgets.widget-slider, " +
    ".jp-Notebook .jupyter-widgets.widget-upload")).map((control) => {
    const track = control.querySelector(".noUi-target") || control;
    const box = control.getBoundingClientRect();
    return {
      label: (control.querySelector(".widget-label") || { textContent: "" }).textContent.trim()
        || control.textContent.trim().slice(0, 30),
      track_px: Math.round(track.getBoundingClientRect().width),
      visible: box.width > 0 && box.height > 0,
    };
  });
}

async function screenshots(page, dir, stem, width) {
  const saved = [];
  await page.evaluate(() => {
    // The element that scrolls: the windowed panel's outer box in JupyterLab 4, the notebook before.
    const scroller = document.querySelector(".jp-NotebookPanel .jp-WindowedPanel-outer")
      || document.querySelector(".jp-NotebookPanel-notebook");
    scroller.scrollTop = 0;
  });
  await sleep(500);
  let file = path.join(dir, `lab-${stem}-${width}-top.png`);
  await page.screenshot({ path: file });
  saved.push(file);
  const widget = page.locator(".jp-Notebook .widget-slider, .jp-Notebook .widget-upload").first();
  if (await widget.count()) {
    await widget.evaluate((e) => e.closest(".jp-OutputArea-child").scrollIntoView({ block: "start" }));
    await sleep(500);
    file = path.join(dir, `lab-${stem}-${width}-widget.png`);
    await page.screenshot({ path: file });
    saved.push(file);
  }
  return saved;
}

async function main() {
  const job = JSON.parse(fs.readFileSync(0, "utf8"));
  const timeoutMs = (job.timeout_s || 120) * 1000;
  const report = { notebook: job.notebook, console_errors: [], page_errors: [] };
  const browser = await chromium.launch({
    executablePath: job.chromium,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
  });
  let page = null;
  try {
    const widths = job.widths && job.widths.length ? job.widths : [1400];
    page = await browser.newPage({ viewport: { width: Math.max(...widths), height: 900 } });
    await page.addInitScript({ content: `window.figureOf = ${figureOf.toString()};` });
    page.on("pageerror", (error) => report.page_errors.push(String(error).slice(0, 300)));
    page.on("console", (message) => {
      if (message.type() === "error") report.console_errors.push(message.text().slice(0, 300));
    });
    const started = Date.now();
    await page.goto(`${job.url}/lab/tree/${job.notebook}?reset&token=${job.token}`);
    await opened(page, job.cells, timeoutMs);
    report.open_s = (Date.now() - started) / 1000;
    if (job.run) {
      report.run_s = await runAll(page, timeoutMs);
      report.outputs = await page.evaluate(readOutputs);
    }
    report.markdown = await page.evaluate(readMarkdown);
    if (job.run && job.sliders) report.sliders = await moveSliders(page, timeoutMs);
    report.controls = {};
    report.screenshots = [];
    for (const width of widths) {
      await page.setViewportSize({ width, height: 900 });
      await sleep(700);  // let JupyterLab and the widgets lay out again
      report.controls[width] = await page.evaluate(measureControls);
      if (job.screenshots) {
        const stem = path.basename(job.notebook, ".ipynb");
        report.screenshots.push(...await screenshots(page, job.screenshots, stem, width));
      }
    }
  } catch (error) {
    if (job.screenshots && page) {
      await page.screenshot({ path: path.join(job.screenshots, "lab-error.png") }).catch(() => {});
    }
    const errors = report.console_errors.concat(report.page_errors).slice(-10);
    throw new Error(`${error.message}\nbrowser errors:\n${errors.join("\n")}`);
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(report));
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(1);
});
