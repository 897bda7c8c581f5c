/* HandDigit in the browser, 2 of 3: the network's forward pass and the Recognizer's rule, in plain
 * loops (the layers' maths as tinycnn.reference writes it, channels last: (H, W, C)).
 *
 *   const network = HandDigit.network.load(HandDigit_MODEL);   // what model.js holds
 *   const logits = network.logits(view);                        // view: Float32Array(784) in [0, 1]
 *   network.predict(view) -> {digit, confidence, probabilities, uncertain, notADigit, score}
 *   network.outputs(view) -> {logits, distance}     // distance: see handdigit.recognition.distance
 *
 * model.js (written by `handdigit export-web`) lists the layers with their shapes and carries
 * every weight in one base64 string (float16 or float32, in layer order: kernel then bias);
 * tinycnn's layouts are kept: a convolution kernel is (kh, kw, C_in, C_out), a dense one
 * (inputs, units), and Flatten reads (row, column, channel) in that order, so nothing is
 * transposed. Probabilities and "not a digit" follow handdigit.recognition.calibration (and its
 * views, handdigit.recognition.views).
 */
(function (HandDigit) {
  "use strict";

  const DIGITS = 10;

  /** float16 bit patterns -> numbers, through a table of all 65,536 of them. */
  function decodeFloat16(bits) {
    const table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) {
      const sign = h & 0x8000 ? -1 : 1;
      const exponent = (h >> 10) & 0x1f;
      const fraction = h & 0x3ff;
      if (exponent === 0) table[h] = sign * fraction * 2 ** -24; // subnormal
      else if (exponent === 31) table[h] = fraction ? NaN : sign * Infinity;
      else table[h] = sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
    }
    const values = new Float32Array(bits.length);
    for (let i = 0; i < bits.length; i++) values[i] = table[bits[i]];
    return values;
  }

  function decodeWeights(model) {
    const binary = atob(model.weights);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    if (model.precision === "float16") return decodeFloat16(new Uint16Array(bytes.buffer));
    if (model.precision === "float32") return new Float32Array(bytes.buffer);
    throw new Error(`model.js: unknown precision ${model.precision}`);
  }

  // --- the layers: x is a Float32Array holding (H, W, C) -----------------------------------

  /** out[i, j, o] = bias[o] + sum over (di, dj, c) of x[i*s + di - pad, j*s + dj - pad, c] * kernel[di, dj, c, o]. */
  function conv2d(x, layer, weights) {
    const [height, width, channels] = layer.input_shape;
    const [outHeight, outWidth, outChannels] = layer.output_shape;
    const [kernelHeight, kernelWidth] = layer.kernel_size;
    const [strideY, strideX] = layer.strides;
    const [padTop, padLeft] = layer.padding;
    const kernel = weights.subarray(layer.kernel, layer.kernel + kernelHeight * kernelWidth * channels * outChannels);
    const bias = weights.subarray(layer.bias, layer.bias + outChannels);
    const out = new Float32Array(outHeight * outWidth * outChannels);
    for (let i = 0; i < outHeight; i++) {
      for (let j = 0; j < outWidth; j++) {
        const o0 = (i * outWidth + j) * outChannels;
        out.set(bias, o0);
        for (let di = 0; di < kernelHeight; di++) {
          const row = i * strideY + di - padTop;
          if (row < 0 || row >= height) continue;
          for (let dj = 0; dj < kernelWidth; dj++) {
            const column = j * strideX + dj - padLeft;
            if (column < 0 || column >= width) continue;
            const x0 = (row * width + column) * channels;
            const k0 = (di * kernelWidth + dj) * channels * outChannels;
            for (let c = 0; c < channels; c++) {
              const value = x[x0 + c];
              if (value === 0) continue; // after a ReLU, and on blank paper, most inputs are 0
              const k = k0 + c * outChannels;
              for (let o = 0; o < outChannels; o++) out[o0 + o] += value * kernel[k + o];
            }
          }
        }
      }
    }
    return out;
  }

  function relu(x) {
    const out = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = x[i] > 0 ? x[i] : 0;
    return out;
  }

  /** out[i, j, c] = the largest x in the (pool) window at (i*s, j*s), channel c. */
  function maxPool2d(x, layer) {
    const [, width, channels] = layer.input_shape;
    const [outHeight, outWidth] = layer.output_shape;
    const [poolHeight, poolWidth] = layer.pool_size;
    const [strideY, strideX] = layer.strides;
    const out = new Float32Array(outHeight * outWidth * channels).fill(-Infinity);
    for (let i = 0; i < outHeight; i++) {
      for (let j = 0; j < outWidth; j++) {
        for (let di = 0; di < poolHeight; di++) {
          for (let dj = 0; dj < poolWidth; dj++) {
            const x0 = ((i * strideY + di) * width + j * strideX + dj) * channels;
            const o0 = (i * outWidth + j) * channels;
            for (let c = 0; c < channels; c++) if (x[x0 + c] > out[o0 + c]) out[o0 + c] = x[x0 + c];
          }
        }
      }
    }
    return out;
  }

  /** out[o] = bias[o] + sum over i of x[i] * kernel[i, o]. */
  function dense(x, layer, weights) {
    const [inputs, units] = [layer.input_shape[0], layer.output_shape[0]];
    const kernel = weights.subarray(layer.kernel, layer.kernel + inputs * units);
    const out = Float32Array.from(weights.subarray(layer.bias, layer.bias + units));
    for (let i = 0; i < inputs; i++) {
      const value = x[i];
      if (value === 0) continue;
      const k = i * units;
      for (let o = 0; o < units; o++) out[o] += value * kernel[k + o];
    }
    return out;
  }

  const FORWARD = {
    conv2d,
    relu: (x) => relu(x),
    maxpool2d: (x, layer) => maxPool2d(x, layer),
    flatten: (x) => x, // (H, W, C) is already stored row, column, channel
    dropout: (x) => x, // the identity at inference
    dense,
  };

  // --- the Recognizer's rule ------------------------------------------------------------------

  function logSumExp(values) {
    const top = Math.max(...values);
    return top + Math.log(values.reduce((sum, v) => sum + Math.exp(v - top), 0));
  }

  /** softmax(digits' logits / T): calibrated probabilities of the ten digits. */
  function probabilities(logits, temperature) {
    const scaled = Array.from(logits.subarray(0, DIGITS), (v) => v / temperature);
    const top = Math.max(...scaled);
    const exp = scaled.map((v) => Math.exp(v - top));
    const total = exp.reduce((a, b) => a + b, 0);
    return exp.map((v) => v / total);
  }

  /** How much the input looks like a digit (higher: more), by the stored rule's score;
   *  "odds-and-distance" reads the features' distance to the digits' (featureDistance). */
  function score(logits, calibration, probabilitiesOfDigits, distance) {
    const digits = Array.from(logits.subarray(0, DIGITS));
    if (calibration.score === "max-probability") return Math.max(...probabilitiesOfDigits);
    if (calibration.score === "digit-odds" || calibration.score === "odds-and-distance") {
      const odds = logSumExp(digits) - logits[DIGITS];
      if (calibration.score === "digit-odds") return odds;
      const logDistance = Math.log(Math.max(distance, 1e-12));
      return odds - calibration.distance_weight * (logDistance - calibration.distance_centre);
    }
    const t = calibration.temperature; // "energy"
    return t * logSumExp(digits.map((v) => v / t));
  }

  /** The squared Mahalanobis distance of the features to the nearest centre (a digit's mean or a
   *  taught digit's), |features W - mean W|^2 (handdigit.recognition.distance); centres: the means
   *  times W. */
  function featureDistance(features, whitening, centres) {
    const size = features.length;
    const whitened = new Float64Array(size);
    for (let i = 0; i < size; i++) {
      const value = features[i];
      if (value === 0) continue; // after the ReLU, most features are 0
      const row = i * size;
      for (let j = 0; j < size; j++) whitened[j] += value * whitening[row + j];
    }
    let nearest = Infinity;
    for (const centre of centres) {
      let total = 0;
      for (let j = 0; j < size; j++) total += (whitened[j] - centre[j]) ** 2;
      nearest = Math.min(nearest, total);
    }
    return nearest;
  }

  /** Each mean (the digits', then any taught) times the whitening: `count` Float64Arrays of the
   *  features' size. */
  function whitenedCentres(means, whitening, size, count) {
    const centres = [];
    for (let d = 0; d < count; d++) {
      const centre = new Float64Array(size);
      for (let i = 0; i < size; i++) {
        const value = means[d * size + i];
        for (let j = 0; j < size; j++) centre[j] += value * whitening[i * size + j];
      }
      centres.push(centre);
    }
    return centres;
  }

  /** Moves of one step, [rows, columns]: down, up, right, left (handdigit.recognition.views). */
  const OFFSETS = [[1, 0], [-1, 0], [0, 1], [0, -1]];

  /** The 28x28 view moved `rows` pixels down and `columns` right (negative: up, left), whole
   *  pixels, blank paper coming in at the edges. */
  function moved(view, rows, columns, size) {
    const out = new Float32Array(view.length);
    for (let i = 0; i < size; i++) {
      const from = i - rows;
      if (from < 0 || from >= size) continue;
      for (let j = 0; j < size; j++) {
        const column = j - columns;
        if (column >= 0 && column < size) out[i * size + j] = view[from * size + column];
      }
    }
    return out;
  }

  /** The view moved `shift` pixels in each direction of OFFSETS; a fractional move is the weighted
   *  mean of the two nearest whole-pixel moves. */
  function shiftedCopies(view, shift) {
    const size = Math.round(Math.sqrt(view.length));
    const whole = Math.floor(shift);
    const fraction = shift - whole;
    return OFFSETS.map(([rows, columns]) => {
      const copy = moved(view, rows * whole, columns * whole, size);
      if (!fraction) return copy;
      const next = moved(view, rows * (whole + 1), columns * (whole + 1), size);
      for (let i = 0; i < copy.length; i++) copy[i] = (1 - fraction) * copy[i] + fraction * next[i];
      return copy;
    });
  }

  function load(model) {
    if (!model || model.format !== "handdigit.web-model" || model.format_version !== 1) {
      throw new Error("model.js is missing or not a HandDigit web model: export the page again");
    }
    const weights = decodeWeights(model);
    const last = model.layers[model.layers.length - 1];
    const featureCount = last.input_shape[0];
    const centreCount = model.distance ? model.distance.centres || DIGITS : 0;
    const distanceValues = model.distance ? centreCount * featureCount + featureCount * featureCount : 0;
    if (weights.length !== model.weight_count + distanceValues) {
      throw new Error(
        `model.js holds ${weights.length} weights, its layers and feature distance need ${model.weight_count + distanceValues}`
      );
    }
    const calibration = model.calibration;
    let whitening = null;
    let centres = null;
    if (model.distance) {
      whitening = weights.subarray(model.distance.whitening, model.distance.whitening + featureCount * featureCount);
      const means = weights.subarray(model.distance.means, model.distance.means + centreCount * featureCount);
      centres = whitenedCentres(means, whitening, featureCount, centreCount);
    }
    return {
      model,
      /** {logits, distance}: the network's outputs and, with a feature distance, how far the
       *  features (the last layer's inputs) lie from the digits' (else null). */
      outputs(view) {
        let x = view;
        for (const layer of model.layers.slice(0, -1)) x = FORWARD[layer.type](x, layer, weights);
        const distance = whitening ? featureDistance(x, whitening, centres) : null;
        return { logits: FORWARD[last.type](x, last, weights), distance };
      },
      logits(view) {
        return this.outputs(view).logits;
      },
      predict(view) {
        const { logits, distance } = this.outputs(view);
        const p = probabilities(logits, calibration.temperature);
        let digit = 0;
        for (let d = 1; d < DIGITS; d++) if (p[d] > p[digit]) digit = d;
        let notADigit = false;
        let ruleScore = p[digit]; // without a rule, as Python's Prediction.score: the largest probability
        if (calibration.score) {
          // With views: the score averaged over the view and its moved copies, near the threshold.
          const views = calibration.views;
          ruleScore = score(logits, calibration, p, distance);
          if (views && Math.abs(ruleScore - views.threshold) <= views.margin) {
            let total = ruleScore;
            for (const copy of shiftedCopies(view, views.shift)) {
              const seen = this.outputs(copy);
              total += score(seen.logits, calibration, probabilities(seen.logits, calibration.temperature), seen.distance);
            }
            ruleScore = total / (1 + OFFSETS.length);
          }
          notADigit = ruleScore < (views ? views.threshold : calibration.threshold);
        }
        return {
          digit,
          confidence: p[digit],
          probabilities: p,
          uncertain: p[digit] < model.unsure_below,
          notADigit,
          score: ruleScore, // as Prediction.score: the rule's, on its threshold's scale
          logits: Array.from(logits),
        };
      },
    };
  }

  HandDigit.network = { load, decodeFloat16, shiftedCopies };
})((globalThis.HandDigit = globalThis.HandDigit || {}));
