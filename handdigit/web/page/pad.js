/* HandDigit in the browser, 3 of 3: the pad. Pen strokes (mouse, touch and pen alike, through
 * pointer events) are painted on the canvas and rasterised into an ink coverage as they arrive,
 * exactly as the app's Drawing does (handdigit/pad/drawing.py); the view and the network
 * (preprocess.js, network.js) answer while the pen moves (at most every 80 ms) and on every
 * pen-up. An uploaded picture is read at its own size and shown instead of the strokes.
 *
 * The page keeps the app's class hooks with their meanings: .hd-canvas, .hd-prediction (the digit;
 * empty when there is none; class hd-unsure when unsure; class hd-not-a-digit, with the sentence
 * in .hd-not-a-digit-note, when the drawing is not a digit), .hd-confidence, ten .hd-bar (greyed
 * inside .hd-bars.hd-greyed), .hd-clear, .hd-undo, .hd-upload, .hd-status ("ready"), and
 * .hd-answer's data-pen-ups, the number of strokes answered so far.
 *
 * For tests and benchmarks, window.HandDigit.page offers predictStrokes(strokes, width): the
 * answer for strokes in canvas pixels, without touching the page; readyAt, the time (ms after
 * navigation started) the page became ready; and penUpToAnswer, the milliseconds from each
 * pen-up to its answer on screen.
 */
(function (HandDigit) {
  "use strict";

  const SIZE = 280; // the canvas in CSS pixels; strokes are kept in these units
  const PIXEL_RATIO = 2; // backing store pixels per CSS pixel
  const PREDICT_INTERVAL = 80; // ms between predictions while the pen moves
  const MAX_STROKES = 500;
  const MAX_POINTS = 50000;
  const MAX_FILE_BYTES = 25 * 2 ** 20; // as the Recognizer's limits (handdigit/recognition/images.py)
  const MAX_PIXELS = 40000000;
  const INK = "#1a1a1a";
  const LUMA = [0.299, 0.587, 0.114];
  const P = HandDigit.preprocess;

  const $ = (selector) => document.querySelector(selector);
  const canvas = $(".hd-canvas");
  const context = canvas.getContext("2d");
  const status = $(".hd-status");
  const state = {
    network: null,
    strokes: [], // each {points: [[x, y], ...], width}
    coverage: new Float32Array(SIZE * SIZE),
    penDown: false,
    penUps: 0,
    lastPrediction: -Infinity,
    upload: null, // {luminance, alpha, width, height, bitmap} while a picture is shown
  };
  const page = { ready: false, readyAt: null, penUpToAnswer: [], predictStrokes };
  HandDigit.page = page;

  // --- answers ------------------------------------------------------------------------------

  function predictView(view) {
    if (view === null) return null; // blank: no digit
    return { ...state.network.predict(view), view };
  }

  /** The answer for strokes ([[x, y], ...] in canvas pixels) drawn with a pen `width` wide. */
  function predictStrokes(strokes, width) {
    return predictView(P.toMnist(P.rasterize(strokes, SIZE, width), SIZE, SIZE, null));
  }

  function currentAnswer() {
    if (state.upload) {
      const { luminance, alpha, width, height } = state.upload;
      return predictView(P.toMnist(luminance, width, height, alpha));
    }
    if (state.strokes.length === 0) return undefined; // nothing drawn yet
    return predictView(P.toMnist(P.coverageToLuminance(state.coverage), SIZE, SIZE, null));
  }

  const percent = (p) => `${Math.round(100 * p)}%`;

  function show(answer) {
    const box = $(".hd-answer");
    const prediction = $(".hd-prediction");
    const confidence = $(".hd-confidence");
    const note = $(".hd-note");
    const bars = $(".hd-bars");
    box.querySelectorAll(".hd-not-a-digit-note").forEach((element) => element.remove());
    prediction.className = "hd-prediction";
    bars.classList.remove("hd-greyed");
    if (!answer) {
      prediction.textContent = "";
      confidence.textContent = "";
      note.textContent = answer === null ? "No digit here: draw or upload one." : "Draw a digit on the canvas.";
      showBars(new Array(10).fill(0), null);
      showView(null);
    } else if (answer.notADigit) {
      prediction.textContent = "";
      prediction.classList.add("hd-not-a-digit");
      const sentence = document.createElement("span");
      sentence.className = "hd-not-a-digit-note";
      sentence.setAttribute("role", "status");
      sentence.textContent = "That doesn't look like a digit";
      prediction.after(sentence);
      confidence.textContent = "";
      note.textContent = `The closest digit would be ${answer.digit} (${percent(answer.confidence)}): the bars show what the network would have said.`;
      showBars(answer.probabilities, answer.digit);
      bars.classList.add("hd-greyed");
      showView(answer.view);
    } else {
      prediction.textContent = String(answer.digit);
      if (answer.uncertain) prediction.classList.add("hd-unsure");
      confidence.textContent = percent(answer.confidence);
      note.textContent = answer.uncertain ? "Unsure: the network is not confident. Try drawing it larger or clearer." : "";
      showBars(answer.probabilities, answer.digit);
      showView(answer.view);
    }
    box.dataset.penUps = String(state.penUps);
  }

  function buildBars() {
    const bars = $(".hd-bars");
    for (let digit = 0; digit < 10; digit++) {
      const label = document.createElement("span");
      label.className = "hd-digit";
      label.textContent = String(digit);
      const bar = document.createElement("div");
      bar.className = "hd-bar";
      bar.setAttribute("role", "meter");
      bar.setAttribute("aria-label", `probability of ${digit}`);
      bar.setAttribute("aria-valuemin", "0");
      bar.setAttribute("aria-valuemax", "100");
      bar.innerHTML = '<div class="hd-fill"></div><span></span>';
      bars.append(label, bar);
    }
  }

  function showBars(probabilities, winner) {
    document.querySelectorAll(".hd-bar").forEach((bar, digit) => {
      const p = probabilities[digit];
      bar.classList.toggle("hd-winner", digit === winner);
      bar.setAttribute("aria-valuenow", String(Math.round(100 * p)));
      bar.querySelector(".hd-fill").style.width = `${(100 * p).toFixed(1)}%`;
      bar.querySelector("span").textContent = percent(p);
    });
  }

  function showView(view) {
    const viewContext = $(".hd-view").getContext("2d");
    const pixels = viewContext.createImageData(28, 28);
    for (let i = 0; i < 784; i++) {
      const grey = view ? Math.round(255 * view[i]) : 0;
      pixels.data.set([grey, grey, grey, 255], 4 * i);
    }
    viewContext.putImageData(pixels, 0, 0);
  }

  function answer() {
    state.lastPrediction = performance.now();
    if (state.network) show(currentAnswer());
  }

  // --- the pen ----------------------------------------------------------------------------

  function canvasPoint(event) {
    const box = canvas.getBoundingClientRect();
    const x = ((event.clientX - box.left) * SIZE) / box.width;
    const y = ((event.clientY - box.top) * SIZE) / box.height;
    if (!Number.isFinite(x) || !Number.isFinite(y)) return null;
    return [Math.min(Math.max(x, 0), SIZE), Math.min(Math.max(y, 0), SIZE)];
  }

  const pointCount = () => state.strokes.reduce((sum, stroke) => sum + stroke.points.length, 0);

  function paintSegment(a, b, width) {
    context.strokeStyle = INK;
    context.lineWidth = width * PIXEL_RATIO;
    context.lineCap = "round";
    context.lineJoin = "round";
    context.beginPath();
    context.moveTo(a[0] * PIXEL_RATIO, a[1] * PIXEL_RATIO);
    context.lineTo(b[0] * PIXEL_RATIO, b[1] * PIXEL_RATIO);
    context.stroke();
  }

  function penDown(event) {
    if (event.button !== undefined && event.button > 0) return; // the main button, a finger or a pen
    const point = canvasPoint(event);
    if (!point || state.strokes.length >= MAX_STROKES || pointCount() >= MAX_POINTS) return;
    event.preventDefault();
    canvas.setPointerCapture?.(event.pointerId);
    if (state.upload) clearDrawing(); // drawing over a picture starts a new drawing
    $(".hd-message").textContent = "";
    const width = Number($(".hd-brush").value);
    state.strokes.push({ points: [point], width });
    state.penDown = true;
    P.drawStroke(state.coverage, SIZE, SIZE, [point], width);
    paintSegment(point, point, width);
  }

  function penMove(event) {
    if (!state.penDown) return;
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
    const stroke = state.strokes[state.strokes.length - 1];
    for (const moved of events.length ? events : [event]) {
      const point = canvasPoint(moved);
      if (!point || pointCount() >= MAX_POINTS) continue;
      const previous = stroke.points[stroke.points.length - 1];
      stroke.points.push(point);
      P.drawStroke(state.coverage, SIZE, SIZE, [previous, point], stroke.width);
      paintSegment(previous, point, stroke.width);
    }
    if (performance.now() - state.lastPrediction >= PREDICT_INTERVAL) answer();
  }

  function penUp() {
    if (!state.penDown) return;
    const started = performance.now();
    state.penDown = false;
    state.penUps += 1;
    answer();
    page.penUpToAnswer.push(performance.now() - started);
  }

  // --- editing ----------------------------------------------------------------------------

  function repaint() {
    context.fillStyle = "#fff";
    context.fillRect(0, 0, canvas.width, canvas.height);
    if (state.upload) {
      const { bitmap, width, height } = state.upload;
      const scale = Math.min(canvas.width / width, canvas.height / height);
      context.imageSmoothingEnabled = scale < 2; // small pictures stay sharp squares
      const w = width * scale;
      const h = height * scale;
      context.drawImage(bitmap, (canvas.width - w) / 2, (canvas.height - h) / 2, w, h);
      return;
    }
    for (const { points, width } of state.strokes) {
      if (points.length === 1) paintSegment(points[0], points[0], width);
      for (let i = 1; i < points.length; i++) paintSegment(points[i - 1], points[i], width);
    }
  }

  function redrawCoverage() {
    state.coverage.fill(0);
    for (const { points, width } of state.strokes) P.drawStroke(state.coverage, SIZE, SIZE, points, width);
  }

  function clearDrawing() {
    state.strokes = [];
    state.coverage.fill(0);
    state.penDown = false;
    state.upload = null;
    repaint();
  }

  function clear() {
    clearDrawing();
    $(".hd-message").textContent = "";
    answer();
  }

  function undo() {
    if (state.upload) return clear();
    if (state.strokes.length === 0) return;
    state.strokes.pop();
    state.penDown = false;
    redrawCoverage();
    repaint();
    answer();
  }

  // --- uploads ------------------------------------------------------------------------------

  function refuse(name, reason) {
    $(".hd-message").textContent = `Cannot use that file: ${name}: ${reason}`;
  }

  async function upload(file) {
    if (!file) return;
    if (file.size === 0) return refuse(file.name, "the file is empty");
    if (file.size > MAX_FILE_BYTES) return refuse(file.name, "larger than 25 MiB; use a smaller image");
    let bitmap;
    try {
      bitmap = await createImageBitmap(file, { imageOrientation: "from-image", premultiplyAlpha: "none", colorSpaceConversion: "none" });
    } catch (error) {
      return refuse(file.name, "not an image this browser can decode");
    }
    const { width, height } = bitmap;
    if (width * height > MAX_PIXELS) return refuse(file.name, `${width}x${height} pixels is more than the 40,000,000 allowed`);
    const scratch = document.createElement("canvas");
    scratch.width = width;
    scratch.height = height;
    const scratchContext = scratch.getContext("2d", { willReadFrequently: true });
    scratchContext.drawImage(bitmap, 0, 0);
    const rgba = scratchContext.getImageData(0, 0, width, height).data;
    const luminance = new Float32Array(width * height);
    const alpha = new Float32Array(width * height);
    let transparent = false;
    for (let i = 0; i < luminance.length; i++) {
      const r = rgba[4 * i] / 255;
      const g = rgba[4 * i + 1] / 255;
      const b = rgba[4 * i + 2] / 255;
      luminance[i] = Math.min(Math.max(LUMA[0] * r + LUMA[1] * g + LUMA[2] * b, 0), 1);
      alpha[i] = rgba[4 * i + 3] / 255;
      if (alpha[i] < 1) transparent = true;
    }
    clearDrawing();
    state.upload = { luminance, alpha: transparent ? alpha : null, width, height, bitmap };
    $(".hd-message").textContent = "";
    repaint();
    answer();
  }

  // --- wiring -------------------------------------------------------------------------------

  function start() {
    buildBars();
    showBars(new Array(10).fill(0), null);
    showView(null);
    repaint();
    try {
      state.network = HandDigit.network.load(globalThis.HandDigit_MODEL);
      state.network.predict(new Float32Array(784)); // first run: the engine compiles the loops
    } catch (error) {
      status.textContent = `The network could not be loaded: ${error.message}`;
      return;
    }
    canvas.addEventListener("pointerdown", penDown);
    canvas.addEventListener("pointermove", penMove);
    canvas.addEventListener("pointerup", penUp);
    canvas.addEventListener("pointercancel", penUp);
    canvas.addEventListener("lostpointercapture", penUp);
    canvas.addEventListener("keydown", (event) => {
      if (event.key === "Backspace" || (event.key.toLowerCase() === "z" && (event.ctrlKey || event.metaKey))) {
        event.preventDefault();
        undo();
      } else if (event.key === "Escape" || event.key === "Delete") {
        event.preventDefault();
        clear();
      }
    });
    $(".hd-clear").addEventListener("click", clear);
    $(".hd-undo").addEventListener("click", undo);
    const input = $(".hd-upload input");
    input.addEventListener("change", () => {
      upload(input.files[0]).finally(() => (input.value = "")); // the same file may be chosen again
    });
    status.textContent = "ready";
    page.ready = true;
    page.readyAt = performance.now();
  }

  start();
})((globalThis.HandDigit = globalThis.HandDigit || {}));
