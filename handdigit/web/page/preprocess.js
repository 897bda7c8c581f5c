/* HandDigit in the browser, 1 of 3: from pen strokes or an uploaded picture to the MNIST-style
 * 28x28 view the network reads. A line-by-line port of handdigit/preprocess.py (read that
 * module's docstring for the why), so that the page and the Python Recognizer see the same digit:
 *
 *   1. rasterize: strokes -> ink coverage, antialiased round pen (preprocess.draw_segments_loops);
 *   2. inkFromImage: luminance -> ink in [0, 1], polarity from the border, noise floor;
 *      blockGrid: a small picture enlarged by repeating its pixels is taken back to its pixels;
 *   3. crop to the ink; thickened: a pen far finer than MNIST's drawn again as wide as MIN_STROKE
 *      of the digit (a disk's dilation, after a block-maximum reduce of a large crop);
 *      scale its longest side to 19 px as Pillow's resize does
 *      (Lanczos when shrinking, after a box reduce by a whole factor; bilinear when enlarging);
 *   4. place in 28x28 with the centre of mass at MNIST's, by a sub-pixel bilinear shift.
 *
 * Images are flat Float32Arrays, row after row. NumPy does this arithmetic in float32, so the
 * port rounds to float32 (Math.fround) where NumPy would: the views agree to about 1e-6.
 */
(function (HandDigit) {
  "use strict";

  const f32 = Math.fround;
  const MNIST_SIZE = 28;
  const DIGIT_BOX = 20;
  const MNIST_CENTRE_OF_MASS = [13.996, 14.007]; // (row, column), the training-set mean
  const NOISE_FLOOR = f32(0.12);
  const MINIMUM_INK_PIXELS = 4;
  const BLANK_FRACTION = 1e-4;
  const MIN_BLOCK = 3; // a block-enlarged picture repeats each pixel over at least 3x3 pixels
  const MIN_BLOCKS = 4; // and its ink spans at least 4 of them along its longer side
  const GRID_SLACK = 0.75; // pixels a change may lie off the fitted grid (half a pixel of rounding, and a little)
  const MIN_STROKE = 0.062; // a stroke narrower than this share of the digit's longer side is thickened to it
  const THICKEN_SIDE = 64; // a crop thickened is first reduced (block maximum) to 64-127 pixels

  // --- 1. strokes -> coverage ----------------------------------------------------------------

  /** Max-composite one round-capped segment of pen `radius` into coverage (height x width),
   *  1 inside the pen, falling to 0 over one pixel at its edge; pixel centres at +0.5. */
  function drawSegment(coverage, width, height, startX, startY, endX, endY, radius) {
    const x0 = Math.max(Math.floor(Math.min(startX, endX) - radius - 1), 0);
    const y0 = Math.max(Math.floor(Math.min(startY, endY) - radius - 1), 0);
    const x1 = Math.min(Math.ceil(Math.max(startX, endX) + radius + 1), width);
    const y1 = Math.min(Math.ceil(Math.max(startY, endY) + radius + 1), height);
    const directionX = endX - startX;
    const directionY = endY - startY;
    const lengthSquared = directionX * directionX + directionY * directionY;
    for (let row = y0; row < y1; row++) {
      const pixelY = row + 0.5;
      for (let column = x0; column < x1; column++) {
        const index = row * width + column;
        if (coverage[index] >= 1) continue; // fully inked by an earlier segment
        const pixelX = column + 0.5;
        let t = 0;
        if (lengthSquared > 0) {
          t = ((pixelX - startX) * directionX + (pixelY - startY) * directionY) / lengthSquared;
          t = Math.min(Math.max(t, 0), 1);
        }
        const distance = Math.hypot(pixelX - (startX + t * directionX), pixelY - (startY + t * directionY));
        const value = f32(Math.min(Math.max(radius + 0.5 - distance, 0), 1));
        if (value > coverage[index]) coverage[index] = value;
      }
    }
  }

  /** Add one stroke (an array of [x, y]) of pen diameter `penWidth` to coverage. */
  function drawStroke(coverage, width, height, stroke, penWidth) {
    if (stroke.length === 0) return;
    const points = stroke.length === 1 ? [stroke[0], stroke[0]] : stroke;
    for (let i = 1; i < points.length; i++) {
      const [ax, ay] = points[i - 1];
      const [bx, by] = points[i];
      drawSegment(coverage, width, height, ax, ay, bx, by, penWidth / 2);
    }
  }

  /** Python's round(): halves go to the even neighbour (NumPy's np.round too). */
  function roundHalfEven(value) {
    const floor = Math.floor(value);
    const fraction = value - floor;
    if (fraction !== 0.5) return Math.round(value);
    return floor % 2 === 0 ? floor : floor + 1;
  }

  /** Coverage -> the luminance a canvas shows, as the app computes it: rounded to 8 bits
   *  (0 = ink, 255 = paper), then scaled to [0, 1]. */
  function coverageToLuminance(coverage) {
    const luminance = new Float32Array(coverage.length);
    for (let i = 0; i < coverage.length; i++) {
      luminance[i] = f32(roundHalfEven(f32(255 * f32(1 - coverage[i]))) / 255);
    }
    return luminance;
  }

  /** Strokes (arrays of [x, y] in canvas pixels) -> luminance (size x size), dark ink on white. */
  function rasterize(strokes, size, penWidth) {
    const coverage = new Float32Array(size * size);
    for (const stroke of strokes) drawStroke(coverage, size, size, stroke, penWidth);
    return coverageToLuminance(coverage);
  }

  // --- 2. luminance -> ink ----------------------------------------------------------------

  function median(values) {
    const sorted = Float32Array.from(values).sort();
    const middle = sorted.length >> 1;
    return sorted.length % 2 ? sorted[middle] : f32((sorted[middle - 1] + sorted[middle]) / 2);
  }

  /** The outer ring of pixels (about 4% of each side, at least one pixel), in NumPy's order. */
  function border(image, width, height) {
    const thickness = Math.max(1, roundHalfEven(0.04 * Math.min(height, width)));
    const values = [];
    for (let row = 0; row < thickness; row++) for (let c = 0; c < width; c++) values.push(image[row * width + c]);
    for (let row = height - thickness; row < height; row++) for (let c = 0; c < width; c++) values.push(image[row * width + c]);
    for (let row = 0; row < height; row++) for (let c = 0; c < thickness; c++) values.push(image[row * width + c]);
    for (let row = 0; row < height; row++) for (let c = width - thickness; c < width; c++) values.push(image[row * width + c]);
    return values;
  }

  /** Ink (height x width) in [0, 1], 1 = strongest ink, from luminance and optional alpha. */
  function inkFromImage(luminance, width, height, alpha, polarity) {
    polarity = polarity || "auto";
    let paperImage = luminance;
    if (alpha) {
      paperImage = new Float32Array(luminance.length); // composite onto white paper
      for (let i = 0; i < luminance.length; i++) paperImage[i] = f32(f32(alpha[i] * luminance[i]) + f32(1 - alpha[i]));
    }
    const borderLevel = median(border(paperImage, width, height));
    if (polarity === "auto") polarity = borderLevel >= 0.5 ? "dark-on-light" : "light-on-dark";
    const darkOnLight = polarity === "dark-on-light";
    const ink = new Float32Array(paperImage.length);
    let strongest = -Infinity;
    for (let i = 0; i < ink.length; i++) {
      ink[i] = darkOnLight ? f32(1 - paperImage[i]) : paperImage[i];
      if (ink[i] > strongest) strongest = ink[i];
    }
    const paper = darkOnLight ? 1 - borderLevel : borderLevel;
    if (strongest - paper <= 1e-6) return new Float32Array(ink.length);
    const paper32 = f32(paper);
    const range32 = f32(strongest - paper);
    for (let i = 0; i < ink.length; i++) {
      let value = f32(f32(ink[i] - paper32) / range32);
      if (!(value >= NOISE_FLOOR)) value = 0; // below the noise floor: paper, not ink
      ink[i] = Math.min(Math.max(value, 0), 1);
    }
    return ink;
  }

  // --- 3. scale as Pillow does -------------------------------------------------------------

  const FILTERS = {
    bilinear: { support: 1, weight: (x) => (Math.abs(x) < 1 ? 1 - Math.abs(x) : 0) },
    lanczos: {
      support: 3,
      weight: (x) => (-3 <= x && x < 3 ? sinc(x) * sinc(x / 3) : 0),
    },
  };

  function sinc(x) {
    if (x === 0) return 1;
    const t = x * Math.PI;
    return Math.sin(t) / t;
  }

  /** Pillow's Image.reduce for a float image: the mean of each factorX x factorY block (blocks
   *  cut by the right and bottom edges average what they hold). */
  function boxReduce(image, width, height, factorX, factorY) {
    const outWidth = Math.ceil(width / factorX);
    const outHeight = Math.ceil(height / factorY);
    const out = new Float32Array(outWidth * outHeight);
    for (let y = 0; y < outHeight; y++) {
      const rowEnd = Math.min((y + 1) * factorY, height);
      for (let x = 0; x < outWidth; x++) {
        const columnEnd = Math.min((x + 1) * factorX, width);
        let sum = 0;
        for (let row = y * factorY; row < rowEnd; row++) {
          for (let column = x * factorX; column < columnEnd; column++) sum += image[row * width + column];
        }
        out[y * outWidth + x] = sum / ((rowEnd - y * factorY) * (columnEnd - x * factorX));
      }
    }
    return { image: out, width: outWidth, height: outHeight };
  }

  /** For each output pixel, the first input pixel and the normalised filter weights over the
   *  input span [in0, in1) (Pillow's precompute_coeffs). */
  function coefficients(inSize, in0, in1, outSize, filter) {
    const scale = (in1 - in0) / outSize;
    const filterScale = Math.max(scale, 1);
    const support = filter.support * filterScale;
    const result = [];
    for (let out = 0; out < outSize; out++) {
      const centre = in0 + (out + 0.5) * scale;
      const first = Math.max(Math.trunc(centre - support + 0.5), 0);
      const end = Math.min(Math.trunc(centre + support + 0.5), inSize);
      const weights = [];
      let total = 0;
      for (let x = first; x < end; x++) {
        const w = filter.weight((x - centre + 0.5) / filterScale);
        weights.push(w);
        total += w;
      }
      if (total !== 0) for (let k = 0; k < weights.length; k++) weights[k] /= total;
      result.push({ first, weights });
    }
    return result;
  }

  /** Pillow's two-pass resample (rows first, then columns, float32 in between) of `image` to
   *  outWidth x outHeight, reading the input box (0, 0, boxWidth, boxHeight). */
  function resample(image, width, height, outWidth, outHeight, boxWidth, boxHeight, filter) {
    const across = coefficients(width, 0, boxWidth, outWidth, filter);
    const down = coefficients(height, 0, boxHeight, outHeight, filter);
    const rows = new Float32Array(outWidth * height);
    for (let row = 0; row < height; row++) {
      for (let x = 0; x < outWidth; x++) {
        const { first, weights } = across[x];
        let sum = 0;
        for (let k = 0; k < weights.length; k++) sum += image[row * width + first + k] * weights[k];
        rows[row * outWidth + x] = sum;
      }
    }
    const out = new Float32Array(outWidth * outHeight);
    for (let y = 0; y < outHeight; y++) {
      const { first, weights } = down[y];
      for (let x = 0; x < outWidth; x++) {
        let sum = 0;
        for (let k = 0; k < weights.length; k++) sum += rows[(first + k) * outWidth + x] * weights[k];
        out[y * outWidth + x] = sum;
      }
    }
    return out;
  }

  /** Pillow's image.resize((outWidth, outHeight), filter, reducing_gap=3.0) of a float image:
   *  first a box reduce by the whole factor that keeps the image at least 3x the target, then
   *  the filter over what is left. */
  function resizeLikePillow(image, width, height, outWidth, outHeight, filterName) {
    if (width === outWidth && height === outHeight) return Float32Array.from(image);
    const filter = FILTERS[filterName];
    const factorX = Math.trunc(width / outWidth / 3) || 1;
    const factorY = Math.trunc(height / outHeight / 3) || 1;
    let boxWidth = width;
    let boxHeight = height;
    if (factorX > 1 || factorY > 1) {
      const reduced = boxReduce(image, width, height, factorX, factorY);
      ({ image, width, height } = reduced);
      boxWidth = f32(boxWidth / factorX); // Pillow passes the box to C as floats
      boxHeight = f32(boxHeight / factorY);
    }
    return resample(image, width, height, outWidth, outHeight, boxWidth, boxHeight, filter);
  }

  /** {image, width, height}: the image cut to the rows and columns that hold any ink. */
  function cropToInk(ink, width, height) {
    let top = height;
    let bottom = -1;
    let left = width;
    let right = -1;
    for (let row = 0; row < height; row++) {
      for (let column = 0; column < width; column++) {
        if (ink[row * width + column] > 0) {
          top = Math.min(top, row);
          bottom = Math.max(bottom, row);
          left = Math.min(left, column);
          right = Math.max(right, column);
        }
      }
    }
    const cropWidth = right - left + 1;
    const cropHeight = bottom - top + 1;
    const cropped = new Float32Array(cropWidth * cropHeight);
    for (let row = 0; row < cropHeight; row++) {
      for (let column = 0; column < cropWidth; column++) {
        cropped[row * cropWidth + column] = ink[(top + row) * width + left + column];
      }
    }
    return { image: cropped, width: cropWidth, height: cropHeight };
  }

  /** The stroke width in pixels: twice the ink over the length of its edge, by Crofton's formula
   *  on four directions: pi / 8 x (the steps between 4-neighbours one of which is ink above half
   *  and the other not, plus those between diagonal neighbours over sqrt 2); outside the image is
   *  not ink; 0 without such ink. */
  function strokeWidth(ink, width, height) {
    const strong = (row, column) =>
      row >= 0 && row < height && column >= 0 && column < width && ink[row * width + column] > 0.5;
    let total = 0;
    let steps = 0;
    let diagonal = 0;
    for (let row = 0; row <= height; row++) {
      for (let column = 0; column <= width; column++) {
        if (row < height && column < width) total += ink[row * width + column];
        const here = strong(row, column);
        steps += (here !== strong(row - 1, column)) + (here !== strong(row, column - 1));
        diagonal += (here !== strong(row - 1, column - 1)) + (strong(row, column - 1) !== strong(row - 1, column));
      }
    }
    const edge = (Math.PI / 8) * (steps + diagonal / Math.SQRT2);
    return edge === 0 ? 0 : (2 * total) / edge;
  }

  /** Cropped ink with its strokes at least MIN_STROKE of its longer side wide: a finer pen's ink
   *  (block-maximum reduced when the crop is large) dilated by a disk whose edge fades over a
   *  pixel, cropped to its ink again. */
  function thickened(ink, width, height) {
    const size = Math.max(width, height);
    const target = MIN_STROKE * size;
    if (strokeWidth(ink, width, height) >= target) return { image: ink, width, height };
    const step = Math.max(1, Math.floor(size / THICKEN_SIDE));
    if (step > 1) {
      const reducedWidth = Math.ceil(width / step);
      const reducedHeight = Math.ceil(height / step);
      const reduced = new Float32Array(reducedWidth * reducedHeight);
      for (let row = 0; row < height; row++) {
        for (let column = 0; column < width; column++) {
          const at = Math.floor(row / step) * reducedWidth + Math.floor(column / step);
          reduced[at] = Math.max(reduced[at], ink[row * width + column]);
        }
      }
      [ink, width, height] = [reduced, reducedWidth, reducedHeight];
    }
    const radius = (target / step - strokeWidth(ink, width, height)) / 2;
    if (radius <= 0) return { image: ink, width, height };
    const reach = Math.ceil(radius) + 1;
    const outWidth = width + 2 * reach;
    const outHeight = height + 2 * reach;
    const out = new Float32Array(outWidth * outHeight);
    for (let dy = -reach; dy <= reach; dy++) {
      for (let dx = -reach; dx <= reach; dx++) {
        // The ink moved by (dy, dx), the strongest kept; the pen's edge fades over a pixel.
        const weight = f32(Math.min(1, radius + 1 - Math.sqrt(dx * dx + dy * dy)));
        if (!(weight > 0)) continue;
        for (let row = 0; row < height; row++) {
          for (let column = 0; column < width; column++) {
            const at = (reach + dy + row) * outWidth + reach + dx + column;
            const value = weight >= 1 ? ink[row * width + column] : f32(ink[row * width + column] * weight);
            out[at] = Math.max(out[at], value);
          }
        }
      }
    }
    return cropToInk(out, outWidth, outHeight);
  }

  /** Cropped ink scaled so its longest side is DIGIT_BOX - 1 pixels, keeping the aspect ratio. */
  function scaleToBox(ink, width, height) {
    const factor = (DIGIT_BOX - 1) / Math.max(height, width);
    const newWidth = Math.max(1, roundHalfEven(width * factor));
    const newHeight = Math.max(1, roundHalfEven(height * factor));
    const scaled = resizeLikePillow(ink, width, height, newWidth, newHeight, factor < 1 ? "lanczos" : "bilinear");
    for (let i = 0; i < scaled.length; i++) scaled[i] = Math.min(Math.max(scaled[i], 0), 1);
    return { image: scaled, width: newWidth, height: newHeight };
  }

  // --- 4. centre in 28x28 -------------------------------------------------------------------

  function centreOfMass(image, size) {
    let total = 0;
    let rowMoment = 0;
    let columnMoment = 0;
    for (let row = 0; row < size; row++) {
      for (let column = 0; column < size; column++) {
        const value = image[row * size + column];
        total += value;
        rowMoment += row * value;
        columnMoment += column * value;
      }
    }
    return [rowMoment / total, columnMoment / total];
  }

  /** image (size x size) moved by `offset` pixels along rows (axis 0) or columns (axis 1):
   *  out[i] = (1 - f) image[i - k] + f image[i - k - 1], offset = k + f; zeros enter at the edge. */
  function shiftAxis(image, size, offset, axis) {
    const whole = Math.floor(offset);
    const fraction = f32(offset - whole);
    const out = new Float32Array(size * size);
    const at = (row, column) => (row >= 0 && row < size && column >= 0 && column < size ? image[row * size + column] : 0);
    for (let row = 0; row < size; row++) {
      for (let column = 0; column < size; column++) {
        const a = axis === 0 ? at(row - whole, column) : at(row, column - whole);
        const b = axis === 0 ? at(row - whole - 1, column) : at(row, column - whole - 1);
        out[row * size + column] = f32(f32(f32(1 - fraction) * a) + f32(fraction * b));
      }
    }
    return out;
  }

  // --- 2b. a block-enlarged picture back to its own pixels (preprocess.block_grid) ------------

  /** Indices i (rows for axis 0, columns for axis 1) where line i differs from line i - 1. */
  function changes(ink, width, height, axis) {
    const [lines, along] = axis === 0 ? [height, width] : [width, height];
    const at = (line, k) => (axis === 0 ? ink[line * width + k] : ink[k * width + line]);
    const found = [];
    for (let line = 1; line < lines; line++) {
      for (let k = 0; k < along; k++) {
        if (at(line, k) !== at(line - 1, k)) {
          found.push(line);
          break;
        }
      }
    }
    return found;
  }

  /** [origin, side] of the grid of about `side` the changes along one axis lie on, or null: the
   *  grid started at the first change if every change lies within a pixel (a quarter block) of it,
   *  else the grid fitted to the changes (least squares over their block numbers) if every change
   *  lies within GRID_SLACK of that one (preprocess._grid). */
  function grid(axisChanges, side) {
    if (axisChanges.length === 0) return [0, side];
    const first = axisChanges[0];
    const blocks = axisChanges.map((change) => roundHalfEven((change - first) / side));
    const tolerance = Math.min(1, side / 4);
    if (axisChanges.every((change, i) => Math.abs(change - first - blocks[i] * side) <= tolerance)) {
      return [first, side];
    }
    const mean = (values) => values.reduce((a, b) => a + b, 0) / values.length;
    const meanBlock = mean(blocks);
    const meanChange = mean(axisChanges);
    const spread = blocks.map((b) => b - meanBlock);
    const spreadSquared = spread.reduce((a, b) => a + b * b, 0);
    if (spreadSquared === 0) return null;
    const fitted = spread.reduce((a, b, i) => a + b * (axisChanges[i] - meanChange), 0) / spreadSquared;
    const origin = meanChange - fitted * meanBlock;
    if (fitted < MIN_BLOCK - 1) return null;
    const off = axisChanges.some((change, i) => Math.abs(change - (origin + fitted * blocks[i])) > GRID_SLACK);
    return off ? null : [origin, fitted];
  }

  /** The middle pixel of each block of a grid of `side` started at `origin`. */
  function blockCentres(origin, side, length) {
    const centres = [];
    const last = Math.ceil((length - origin) / side);
    for (let j = -Math.ceil(origin / side); j < last; j++) {
      const start = origin + side * j;
      const low = Math.max(start, 0);
      const high = Math.min(start + side, length);
      if (high - low > Math.min(1, side / 4)) {
        centres.push(Math.min(Math.max(Math.floor((low + high) / 2), 0), length - 1));
      }
    }
    return centres;
  }

  /** [rows, columns] of the small picture's pixels in `ink` if it is one enlarged by repeating
   *  each pixel over a square block, else null: every change along each axis on a grid of one
   *  block side (the largest that fits; see grid). */
  function blockGrid(ink, width, height) {
    const axes = [changes(ink, width, height, 0), changes(ink, width, height, 1)];
    const gaps = axes.flatMap((c) => c.slice(1).map((change, i) => change - c[i]));
    if (gaps.length < 3 || gaps.reduce((a, b) => Math.min(a, b)) < MIN_BLOCK - 1) return null;
    const sides = new Set();
    for (const c of axes) {
      if (c.length < 2) continue;
      const span = c[c.length - 1] - c[0];
      for (let cells = 1; cells <= Math.floor(span / MIN_BLOCK); cells++) sides.add(span / cells);
    }
    for (const side of [...sides].sort((a, b) => b - a)) {
      const grids = axes.map((c) => grid(c, side));
      if (grids.some((g) => g === null)) continue;
      const rows = blockCentres(grids[0][0], grids[0][1], height);
      const columns = blockCentres(grids[1][0], grids[1][1], width);
      const inkRows = rows.filter((r) => columns.some((c) => ink[r * width + c] > 0)).length;
      const inkColumns = columns.filter((c) => rows.some((r) => ink[r * width + c] > 0)).length;
      return Math.max(inkRows, inkColumns) >= MIN_BLOCKS ? [rows, columns] : null;
    }
    return null;
  }

  /** The MNIST-style 28x28 view (Float32Array(784), ink = 1) of an image, or null if blank.
   *  luminance: width x height in [0, 1] (0 = black); alpha: optional opacity in [0, 1]. */
  function toMnist(luminance, width, height, alpha, polarity) {
    let ink = inkFromImage(luminance, width, height, alpha, polarity);
    let strongInk = 0;
    for (let i = 0; i < ink.length; i++) strongInk += ink[i] > 0.5;
    if (strongInk < Math.max(MINIMUM_INK_PIXELS, BLANK_FRACTION * ink.length)) return null;
    const grid = blockGrid(ink, width, height);
    if (grid) {
      const [rows, columns] = grid;
      ink = Float32Array.from(rows.flatMap((r) => columns.map((c) => ink[r * width + c])));
      [width, height] = [columns.length, rows.length];
    }
    const crop = cropToInk(ink, width, height);
    const thick = thickened(crop.image, crop.width, crop.height);
    const digit = scaleToBox(thick.image, thick.width, thick.height);
    if (!(digit.image.reduce((sum, value) => sum + value, 0) > 0)) return null;
    let canvas = new Float32Array(MNIST_SIZE * MNIST_SIZE);
    const placeTop = Math.floor((MNIST_SIZE - digit.height) / 2);
    const placeLeft = Math.floor((MNIST_SIZE - digit.width) / 2);
    for (let row = 0; row < digit.height; row++) {
      for (let column = 0; column < digit.width; column++) {
        canvas[(placeTop + row) * MNIST_SIZE + placeLeft + column] = digit.image[row * digit.width + column];
      }
    }
    const [row, column] = centreOfMass(canvas, MNIST_SIZE);
    canvas = shiftAxis(canvas, MNIST_SIZE, MNIST_CENTRE_OF_MASS[0] - row, 0);
    canvas = shiftAxis(canvas, MNIST_SIZE, MNIST_CENTRE_OF_MASS[1] - column, 1);
    for (let i = 0; i < canvas.length; i++) canvas[i] = Math.min(Math.max(canvas[i], 0), 1);
    return canvas;
  }

  HandDigit.preprocess = {
    MNIST_SIZE,
    drawSegment,
    drawStroke,
    coverageToLuminance,
    rasterize,
    inkFromImage,
    blockGrid,
    strokeWidth,
    thickened,
    resizeLikePillow,
    toMnist,
  };
})((globalThis.HandDigit = globalThis.HandDigit || {}));
