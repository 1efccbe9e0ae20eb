/* Colorize a photo in the browser: the panel of chapter 7.
 *
 * The container comes from colorlab.web.panel_html: its data- attributes name the model (the ONNX graph
 * written by `colorlab export-onnx`), the onnxruntime-web module, the default temperature and the largest
 * photo accepted; its <img> children are the sample photos. This script builds the controls, reads the
 * chosen photo with the File API, and runs the graph with onnxruntime-web in WebAssembly on one thread (no
 * cross-origin isolation needed). The graph does the whole colorization, from uint8 pixels to uint8 pixels;
 * this script only moves pixels in and out. Nothing is uploaded anywhere.
 *
 * For tests, the container's data-state is "ready", "busy", "done", "error" or "unavailable", and
 * data-runs counts the colorizations drawn.
 */
(() => {
  'use strict';

  let panels = 0;

  // A DOM element with attributes and children (strings become text).
  function element(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes)) {
      if (value === true) node.setAttribute(key, '');
      else if (value !== false && value != null) node.setAttribute(key, String(value));
    }
    node.append(...children);
    return node;
  }

  const seconds = (ms) => `${(ms / 1000).toFixed(2)} s`;
  const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));

  // Width and height of an image file without decoding its pixels (null when the browser cannot read it).
  function imageSize(file) {
    return new Promise((resolve) => {
      const url = URL.createObjectURL(file);
      const img = new Image();
      img.onload = () => { URL.revokeObjectURL(url); resolve([img.naturalWidth, img.naturalHeight]); };
      img.onerror = () => { URL.revokeObjectURL(url); resolve(null); };
      img.src = url;
    });
  }

  // uint8 RGB, channels first (1, 3, H, W), of a decoded image; transparency composited on white and
  // embedded colour profiles ignored, as `colorlab colorize` does.
  function planarRgb(bitmap) {
    const { width, height } = bitmap;
    const canvas = element('canvas', { width, height });
    const context = canvas.getContext('2d', { willReadFrequently: true });
    context.fillStyle = '#fff';
    context.fillRect(0, 0, width, height);
    context.drawImage(bitmap, 0, 0);
    const rgba = context.getImageData(0, 0, width, height).data;
    const n = width * height;
    const planes = new Uint8Array(3 * n);
    for (let i = 0, j = 0; i < n; i += 1, j += 4) {
      planes[i] = rgba[j];
      planes[n + i] = rgba[j + 1];
      planes[2 * n + i] = rgba[j + 2];
    }
    return planes;
  }

  // Draw uint8 RGB planes (3, H, W) onto a canvas of the image's size.
  function drawPlanes(canvas, planes, width, height) {
    canvas.width = width;
    canvas.height = height;
    const context = canvas.getContext('2d');
    const image = context.createImageData(width, height);
    const rgba = image.data;
    const n = width * height;
    for (let i = 0, j = 0; i < n; i += 1, j += 4) {
      rgba[j] = planes[i];
      rgba[j + 1] = planes[n + i];
      rgba[j + 2] = planes[2 * n + i];
      rgba[j + 3] = 255;
    }
    context.putImageData(image, 0, 0);
  }

  class Panel {
    constructor(root) {
      this.root = root;
      this.id = `colorize-panel-${(panels += 1)}`;
      const data = root.dataset;
      this.modelUrl = new URL(data.model, document.baseURI).href;
      this.runtimeUrl = new URL(data.runtime, document.baseURI).href;
      this.maxPixels = Number(data.maxPixels);
      this.runtime = null; // promise of {ort, session, seconds, bytes}
      this.photo = null; // {name, width, height, tensorData}
      this.running = false;
      this.pending = false;
      this.runs = 0;
      this.available = false; // true once the page can load the model (served over HTTP, WebAssembly)
      this.build(Number(data.temperature), Number(data.tMin));
      this.listen();
      this.start();
    }

    build(temperature, tMin) {
      const root = this.root;
      const samples = Array.from(root.querySelectorAll('img.colorize-panel-sample'));
      root.replaceChildren();
      root.classList.add('colorize-panel-live');

      this.file = element('input', { type: 'file', id: `${this.id}-file`, accept: 'image/*' });
      const picker = element('div', { class: 'colorize-panel-picker' },
        element('label', { for: this.file.id }, 'Your photo'), this.file,
        element('span', { class: 'colorize-panel-hint' }, 'or drop one on this panel'));

      const sampleGroup = element('div', { class: 'colorize-panel-samples', role: 'group',
        'aria-labelledby': `${this.id}-samples` },
      element('span', { id: `${this.id}-samples` }, 'Or try a sample photo:'));
      this.sampleButtons = samples.map((img) => {
        const name = img.alt;
        img.alt = ''; // the button is named by its text
        const button = element('button', { type: 'button', 'data-src': img.src, 'data-name': name },
          img, element('span', {}, name));
        sampleGroup.append(button);
        return button;
      });

      this.slider = element('input', { type: 'range', id: `${this.id}-t`, min: tMin, max: 1, step: 0.01,
        value: temperature, 'aria-describedby': `${this.id}-t-hint` });
      this.sliderValue = element('output', { for: this.slider.id }, this.slider.value);
      const temperatureControl = element('div', { class: 'colorize-panel-temperature' },
        element('label', { for: this.slider.id }, 'Temperature T'), this.slider, this.sliderValue,
        element('span', { class: 'colorize-panel-hint', id: `${this.id}-t-hint` },
          'of the annealed mean: low is vivid (the mode), 1 is the mean'));

      this.status = element('p', { class: 'colorize-panel-status', role: 'status', 'aria-live': 'polite' });
      this.grayCanvas = element('canvas', { role: 'img', 'aria-label': 'the photo as the network sees it' });
      this.resultCanvas = element('canvas', { role: 'img', 'aria-label': 'the colorized photo' });
      this.resultCaption = element('figcaption', {}, 'Colorized');
      this.images = element('div', { class: 'colorize-panel-images', hidden: true },
        element('figure', {}, this.grayCanvas, element('figcaption', {}, 'Input: its lightness only')),
        element('figure', {}, this.resultCanvas, this.resultCaption));
      this.download = element('a', { class: 'colorize-panel-download', hidden: true },
        'Download the colorized photo (PNG)');

      root.append(picker, sampleGroup, temperatureControl, this.status, this.images, this.download);
      this.controls = [this.file, this.slider, ...this.sampleButtons];
    }

    listen() {
      const root = this.root;
      // Start loading the runtime and the model as soon as the reader reaches for a photo.
      const warm = () => this.available && this.loadRuntime().catch(() => {});
      for (const [target, type] of [[this.file.parentElement, 'pointerdown'], [this.file, 'focus'],
        [this.sampleButtons[0] && this.sampleButtons[0].parentElement, 'pointerdown'], [root, 'dragenter']]) {
        if (target) target.addEventListener(type, warm);
      }
      this.sampleButtons.forEach((button) => {
        button.addEventListener('click', () => this.loadUrl(button.dataset.src, button.dataset.name));
      });
      this.file.addEventListener('change', () => {
        if (this.file.files.length) this.loadFile(this.file.files[0]);
      });
      this.slider.addEventListener('input', () => {
        this.sliderValue.value = Number(this.slider.value).toFixed(2);
        if (this.photo) this.colorize();
      });
      root.addEventListener('dragover', (event) => {
        event.preventDefault();
        root.classList.add('colorize-panel-dragging');
      });
      root.addEventListener('dragleave', () => root.classList.remove('colorize-panel-dragging'));
      root.addEventListener('drop', (event) => {
        event.preventDefault();
        root.classList.remove('colorize-panel-dragging');
        const file = event.dataTransfer && event.dataTransfer.files[0];
        if (file) this.loadFile(file);
      });
    }

    // Say whether the panel can work here: a page opened from a file cannot load the model.
    start() {
      let problem = null;
      if (window.location.protocol === 'file:') {
        const page = window.location.pathname.split('/').slice(-2).join('/');
        problem = 'This page was opened from a file, and browsers do not let such a page load the model. '
          + 'Serve the book\'s folder over HTTP instead, e.g. with "python -m http.server --directory '
          + `_build/html" in the repository, and open http://localhost:8000/${page}`;
      } else if (typeof WebAssembly !== 'object') {
        problem = 'This browser cannot run WebAssembly, which the model needs.';
      }
      if (problem) {
        this.say(problem, 'unavailable');
        this.controls.forEach((control) => { control.disabled = true; });
        return;
      }
      this.available = true;
      this.say('Choose a photo or a sample. It stays on your computer: the model runs in this page '
        + '(it loads once, when you choose the first photo).', 'ready');
    }

    say(text, state) {
      this.status.textContent = text;
      this.status.classList.toggle('colorize-panel-error', state === 'error' || state === 'unavailable');
      this.root.dataset.state = state;
    }

    // Load onnxruntime-web and the model, once.
    loadRuntime() {
      if (!this.runtime) {
        this.runtime = (async () => {
          const started = performance.now();
          const ort = await import(this.runtimeUrl);
          ort.env.wasm.numThreads = 1;
          const response = await fetch(this.modelUrl);
          if (!response.ok) {
            throw new Error(`the model could not be loaded from ${this.modelUrl} `
              + `(${response.status} ${response.statusText})`);
          }
          const bytes = new Uint8Array(await response.arrayBuffer());
          const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
          return { ort, session, bytes: bytes.length, seconds: performance.now() - started, used: false };
        })();
        this.runtime.catch(() => { this.runtime = null; }); // a later photo tries again
      }
      return this.runtime;
    }

    async loadUrl(url, name) {
      try {
        const blob = await (await fetch(url)).blob();
        await this.loadFile(new File([blob], `${name}.jpg`, { type: blob.type }));
      } catch (error) {
        this.say(`The sample ${name} could not be loaded: ${error.message}`, 'error');
      }
    }

    async loadFile(file) {
      if (!this.available) return; // the status already says why (e.g. a drop on a page opened from a file)
      const started = performance.now();
      const name = file.name || 'photo';
      this.loadRuntime().catch(() => {}); // meanwhile (a failure is reported by the run that needs it)
      if (file.type && !file.type.startsWith('image/')) {
        this.say(`"${name}" is not an image (its type is ${file.type}). Choose a photo: JPEG, PNG, WebP...`,
          'error');
        return;
      }
      const size = await imageSize(file);
      if (!size) {
        this.say(`"${name}" is not an image this browser can read. Choose a photo: JPEG, PNG, WebP...`, 'error');
        return;
      }
      const [width, height] = size;
      if (width * height > this.maxPixels) {
        this.say(`"${name}" is ${width} × ${height} pixels, ${(width * height / 1e6).toFixed(1)} megapixels; `
          + `this panel takes photos of up to ${this.maxPixels / 1e6} megapixels. Scale it down first, or `
          + 'use "colorlab colorize --max-pixels N" on your computer.', 'error');
        return;
      }
      this.say(`Reading "${name}" (${width} × ${height} pixels)...`, 'busy');
      await nextFrame();
      let tensorData;
      try {
        const bitmap = await createImageBitmap(file, { colorSpaceConversion: 'none',
          imageOrientation: 'from-image' });
        tensorData = planarRgb(bitmap);
        bitmap.close();
      } catch (error) {
        this.say(`"${name}" could not be decoded: ${error.message}`, 'error');
        return;
      }
      this.photo = { name, width, height, tensorData, started, first: true };
      this.colorize();
    }

    // Colorize the current photo at the slider's temperature. Calls made while a run is going on are
    // merged into one run afterwards, with the latest temperature.
    async colorize() {
      if (this.running) {
        this.pending = true;
        return;
      }
      this.running = true;
      try {
        do {
          this.pending = false;
          await this.runOnce();
        } while (this.pending);
      } catch (error) {
        const memory = /bad_alloc|memory/i.test(error.message) ? ' This page ran out of memory: try a smaller '
          + 'photo, or reload the page.' : '';
        this.say(`The colorization failed: ${error.message}.${memory}`, 'error');
      } finally {
        this.running = false;
      }
    }

    async runOnce() {
      const photo = this.photo;
      const T = Number(this.slider.value);
      this.say(this.runs ? `Colorizing at T = ${T.toFixed(2)}...`
        : 'Loading the model and the runtime (once), then colorizing...', 'busy');
      await nextFrame();
      const runtime = await this.loadRuntime();
      const { ort, session } = runtime;
      const loading = !runtime.used;
      runtime.used = true;
      const started = photo.first ? photo.started : performance.now();
      const feeds = {
        rgb: new ort.Tensor('uint8', photo.tensorData, [1, 3, photo.height, photo.width]),
        temperature: new ort.Tensor('float32', Float32Array.of(T), []),
      };
      const outputs = await session.run(feeds);
      drawPlanes(this.resultCanvas, outputs.colorized.data, photo.width, photo.height);
      if (photo.first) drawPlanes(this.grayCanvas, outputs.gray.data, photo.width, photo.height);
      Object.values(outputs).forEach((tensor) => tensor.dispose && tensor.dispose());
      const elapsed = performance.now() - started;
      this.images.hidden = false;
      this.resultCaption.textContent = `Colorized, T = ${T.toFixed(2)}`;
      this.offerDownload(photo.name);
      const what = photo.first ? 'from choosing the photo to the result' : 'for this temperature';
      const load = loading ? `, including ${seconds(runtime.seconds)} to load the runtime and the model `
        + `(${(runtime.bytes / 1e6).toFixed(1)} MB) the first time` : '';
      photo.first = false;
      this.runs += 1;
      this.root.dataset.runs = String(this.runs);
      this.root.dataset.seconds = (elapsed / 1000).toFixed(3);
      this.say(`${photo.name} (${photo.width} × ${photo.height} pixels) colorized at T = ${T.toFixed(2)} in this `
        + `browser: ${seconds(elapsed)} ${what}${load}.`, 'done');
    }

    offerDownload(name) {
      const stem = name.replace(/\.[^.]*$/, '') || 'photo';
      this.resultCanvas.toBlob((blob) => {
        if (!blob) return;
        if (this.download.href) URL.revokeObjectURL(this.download.href);
        this.download.href = URL.createObjectURL(blob);
        this.download.download = `${stem}-colorized.png`;
        this.download.hidden = false;
      }, 'image/png');
    }
  }

  function init() {
    document.querySelectorAll('.colorize-panel:not(.colorize-panel-live)').forEach((root) => new Panel(root));
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
