/* The live explorers of vaegan_utils.explorer, run in the page: a 2-D VAE decoder (an MLP,
   vaeganExplorer) and a DCGAN generator (vaeganGenerator). Weights arrive as base64 in a JSON
   script tag; the networks are plain JavaScript, so the page works when opened from disk (no
   fetch, no modules, no compiled binaries). Both share the plane below: pointer, finger and arrow keys
   move a marker, and the image drawn at the marker is shown beside it. */

function vaeganHalves(b64) {  // base64 little-endian float16 -> Float32Array
  var raw = atob(b64), out = new Float32Array(raw.length / 2);
  for (var k = 0; k < out.length; k++) {
    var h = raw.charCodeAt(2 * k) | (raw.charCodeAt(2 * k + 1) << 8);
    var sign = h & 0x8000 ? -1 : 1, exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
    out[k] = exp === 0 ? sign * Math.pow(2, -14) * (frac / 1024)
      : exp === 31 ? (frac ? NaN : sign * Infinity)
      : sign * Math.pow(2, exp - 15) * (1 + frac / 1024);
  }
  return out;
}

function vaeganInt8(b64) {  // base64 int8 -> Float32Array of the integers
  var raw = atob(b64), out = new Float32Array(raw.length);
  for (var k = 0; k < out.length; k++) {
    var v = raw.charCodeAt(k);
    out[k] = v > 127 ? v - 256 : v;
  }
  return out;
}

/* The plane: `ext` = [xmin, xmax, ymin, ymax] in plane coordinates; `hooks.paint(ctx, toPixel)`
   draws the background, `hooks.pixels(p)` the image (size x size values in [0, 1]) at position
   p, `hooks.describe(p)` the readout line (also the image's label); `hooks.start` is where the
   marker starts (default: the centre). Returns the handle the tests drive. */
function vaeganPlane(root, ext, size, hooks) {
  "use strict";
  var plane = root.querySelector(".vaegan-plane"), digit = root.querySelector(".vaegan-digit");
  var readout = root.querySelector(".vaegan-readout");
  var W = plane.width, H = plane.height;
  function toPixel(z) {
    return [(z[0] - ext[0]) / (ext[1] - ext[0]) * W, (1 - (z[1] - ext[2]) / (ext[3] - ext[2])) * H];
  }
  function toCode(px, py) {
    return [ext[0] + px / W * (ext[1] - ext[0]), ext[2] + (1 - py / H) * (ext[3] - ext[2])];
  }
  // The background, drawn once on an offscreen canvas; the marker is drawn over a copy of it.
  var background = document.createElement("canvas");
  background.width = W; background.height = H;
  var small = document.createElement("canvas");
  small.width = size; small.height = size;
  var z = hooks.start ? hooks.start.slice() : [(ext[0] + ext[1]) / 2, (ext[2] + ext[3]) / 2];

  function draw() {
    var ctx = plane.getContext("2d"), p = toPixel(z);
    ctx.drawImage(background, 0, 0);
    ctx.strokeStyle = "#000"; ctx.lineWidth = 2;
    ctx.beginPath(); ctx.arc(p[0], p[1], 7, 0, 2 * Math.PI); ctx.stroke();
    vaeganPaint(small, hooks.pixels(z));
    var out = digit.getContext("2d");
    out.imageSmoothingEnabled = false;
    out.drawImage(small, 0, 0, digit.width, digit.height);
    readout.textContent = hooks.describe(z);
    digit.setAttribute("aria-label", "the image drawn at " + readout.textContent);
  }
  function repaint() {
    hooks.paint(background.getContext("2d"), toPixel);
    draw();
  }
  function moveTo(code) {
    z = [Math.min(ext[1], Math.max(ext[0], code[0])), Math.min(ext[3], Math.max(ext[2], code[1]))];
    draw();
  }
  function fromEvent(event) {
    var box = plane.getBoundingClientRect();
    return toCode((event.clientX - box.left) * W / box.width, (event.clientY - box.top) * H / box.height);
  }
  var dragging = false;
  plane.addEventListener("pointerdown", function (event) {
    dragging = true; plane.setPointerCapture(event.pointerId); plane.focus(); moveTo(fromEvent(event));
  });
  plane.addEventListener("pointermove", function (event) {
    if (dragging || event.pointerType === "mouse") { moveTo(fromEvent(event)); }
  });
  plane.addEventListener("pointerup", function () { dragging = false; });
  plane.addEventListener("pointercancel", function () { dragging = false; });
  plane.addEventListener("keydown", function (event) {
    var step = (event.shiftKey ? 0.1 : 0.02), dx = step * (ext[1] - ext[0]), dy = step * (ext[3] - ext[2]);
    var moves = { ArrowLeft: [-dx, 0], ArrowRight: [dx, 0], ArrowUp: [0, dy], ArrowDown: [0, -dy] };
    if (moves[event.key]) {
      event.preventDefault(); moveTo([z[0] + moves[event.key][0], z[1] + moves[event.key][1]]);
    }
  });
  return {
    getZ: function () { return z.slice(); }, setZ: moveTo, toPixel: toPixel, repaint: repaint
  };
}

function vaeganPaint(canvas, pixels) {  // size x size values in [0, 1] -> a grey image
  var n = canvas.width * canvas.height, ctx = canvas.getContext("2d");
  var image = ctx.createImageData(canvas.width, canvas.height);
  for (var k = 0; k < n; k++) {
    var v = Math.round(255 * Math.min(1, Math.max(0, pixels[k])));
    image.data[4 * k] = image.data[4 * k + 1] = image.data[4 * k + 2] = v;
    image.data[4 * k + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
}

function vaeganStart(root, id, handle) {
  window.vaeganExplorers = window.vaeganExplorers || {};
  window.vaeganExplorers[id] = handle;
  root.setAttribute("data-ready", "1");
  root.style.display = "block";
}

/* The VAE's decoder: a 2-D code -> 784 pixel probabilities (the sigmoid of the logits). */
function vaeganExplorer(id) {
  "use strict";
  var root = document.getElementById(id);
  if (!root || root.getAttribute("data-ready")) { return; }
  var payload = JSON.parse(root.querySelector(".vaegan-payload").textContent);
  var layers = payload.layers.map(function (l) {
    return { rows: l.shape[0], cols: l.shape[1], w: vaeganHalves(l.kernel),
             b: vaeganHalves(l.bias), act: l.activation };
  });

  function decode(z) {
    var x = Float32Array.from(z);
    layers.forEach(function (layer) {
      var y = Float32Array.from(layer.b), cols = layer.cols;
      for (var i = 0; i < layer.rows; i++) {
        var xi = x[i];
        if (xi === 0) { continue; }
        for (var j = 0, off = i * cols; j < cols; j++) { y[j] += xi * layer.w[off + j]; }
      }
      for (var j2 = 0; j2 < cols; j2++) {
        if (layer.act === "relu") { y[j2] = Math.max(0, y[j2]); }
        else if (layer.act === "sigmoid") { y[j2] = 1 / (1 + Math.exp(-y[j2])); }
        else if (layer.act === "tanh") { y[j2] = Math.tanh(y[j2]); }
      }
      x = y;
    });
    return Array.prototype.map.call(x, function (v) { return 1 / (1 + Math.exp(-v)); });
  }

  var points = vaeganHalves(payload.points);
  function paint(bg, toPixel) {  // the training codes, coloured by digit, and the legend
    bg.fillStyle = "#fff"; bg.fillRect(0, 0, bg.canvas.width, bg.canvas.height);
    bg.globalAlpha = 0.6;
    for (var k = 0; k < payload.labels.length; k++) {
      var p = toPixel([points[2 * k], points[2 * k + 1]]);
      bg.fillStyle = payload.colors[payload.labels[k] % payload.colors.length];
      bg.fillRect(p[0] - 1, p[1] - 1, 2.5, 2.5);
    }
    bg.globalAlpha = 1; bg.font = "11px sans-serif";
    payload.colors.forEach(function (colour, d) {
      bg.fillStyle = colour; bg.fillRect(6 + 22 * d, 6, 8, 8);
      bg.fillStyle = "#333"; bg.fillText(String(d), 15 + 22 * d, 14);
    });
  }
  var plane = vaeganPlane(root, payload.extent, 28, {
    paint: paint, pixels: decode,
    describe: function (z) { return "z = (" + z[0].toFixed(2) + ", " + z[1].toFixed(2) + ")"; }
  });
  plane.repaint();
  vaeganStart(root, id, {
    decode: decode, getZ: plane.getZ, setZ: plane.setZ, toPixel: plane.toPixel
  });
}

/* A DCGAN generator (vaegan_utils.pagenet.generator_network): a code -> size x size pixels.
   Kernels are 8-bit integers with one float16 scale per output channel; feature maps are
   (height, width, channels), row-major. The plane is the one through three codes A, B, C. */
function vaeganGenerator(id) {
  "use strict";
  var root = document.getElementById(id);
  if (!root || root.getAttribute("data-ready")) { return; }
  var payload = JSON.parse(root.querySelector(".vaegan-payload").textContent);
  var ops = payload.ops.map(function (op) {
    var out = { op: op.op, shape: op.shape, act: op.activation, alpha: op.alpha,
                stride: op.stride, pad: op.pad, matrix: op.matrix };
    if (op.kernel) {
      out.w = vaeganInt8(op.kernel); out.scale = vaeganHalves(op.scale);
      out.b = vaeganHalves(op.bias);
    }
    return out;
  });

  function activate(y, op) {
    for (var k = 0; k < y.length; k++) {
      if (op.act === "leaky_relu") { if (y[k] < 0) { y[k] *= op.alpha; } }
      else if (op.act === "relu") { y[k] = Math.max(0, y[k]); }
      else if (op.act === "sigmoid") { y[k] = 1 / (1 + Math.exp(-y[k])); }
      else if (op.act === "tanh") { y[k] = Math.tanh(y[k]); }
    }
  }
  function dense(x, op) {  // kernel (in, out)
    var cols = op.shape[1], y = new Float32Array(cols);
    for (var i = 0; i < op.shape[0]; i++) {
      var xi = x[i];
      for (var j = 0, off = i * cols; j < cols; j++) { y[j] += xi * op.w[off + j]; }
    }
    for (var j2 = 0; j2 < cols; j2++) { y[j2] = y[j2] * op.scale[j2] + op.b[j2]; }
    return y;
  }
  function resize(x, op, shape) {  // matrix (H*W, h*w), the same for every channel
    var c = shape[2], inner = shape[0] * shape[1], outer = op.matrix.length;
    var y = new Float32Array(outer * c);
    for (var p = 0; p < outer; p++) {
      var row = op.matrix[p];
      for (var q = 0; q < inner; q++) {
        var m = row[q];
        if (m === 0) { continue; }
        for (var ch = 0; ch < c; ch++) { y[p * c + ch] += m * x[q * c + ch]; }
      }
    }
    return y;
  }
  function convTranspose(x, op, shape) {  // kernel (k, k, out, in); each input pixel scatters
    var h = shape[0], w = shape[1], ci = shape[2], k = op.shape[0], co = op.shape[2];
    var s = op.stride, H = h * s, Wd = w * s, y = new Float32Array(H * Wd * co);
    for (var iy = 0; iy < h; iy++) {
      for (var ix = 0; ix < w; ix++) {
        var xin = (iy * w + ix) * ci;
        for (var ky = 0; ky < k; ky++) {
          var oy = iy * s + ky - op.pad;
          if (oy < 0 || oy >= H) { continue; }
          for (var kx = 0; kx < k; kx++) {
            var ox = ix * s + kx - op.pad;
            if (ox < 0 || ox >= Wd) { continue; }
            var yout = (oy * Wd + ox) * co, wk = (ky * k + kx) * co * ci;
            for (var o = 0; o < co; o++) {
              var acc = 0, wo = wk + o * ci;
              for (var i = 0; i < ci; i++) { acc += op.w[wo + i] * x[xin + i]; }
              y[yout + o] += acc;
            }
          }
        }
      }
    }
    for (var n = 0; n < H * Wd; n++) {
      for (var o2 = 0; o2 < co; o2++) { y[n * co + o2] = y[n * co + o2] * op.scale[o2] + op.b[o2]; }
    }
    return y;
  }
  function decode(z) {
    var x = Float32Array.from(z), shape = null;
    ops.forEach(function (op) {
      if (op.op === "reshape") { shape = op.shape; return; }
      if (op.op === "resize") { x = resize(x, op, shape); shape = op.shape; return; }
      if (op.op === "dense") { x = dense(x, op); }
      else {
        x = convTranspose(x, op, shape);
        shape = [shape[0] * op.stride, shape[1] * op.stride, op.shape[2]];
      }
      activate(x, op);
    });
    return x;
  }

  // The plane through A, B, C: a point's barycentric weights mix the three codes, and the mix
  // is scaled to length `radius` (the sphere where nearly all of N(0, I)'s codes lie).
  var v = payload.vertices, d = payload.latent_dim, anchors = payload.anchors;
  var det = (v[1][1] - v[2][1]) * (v[0][0] - v[2][0]) + (v[2][0] - v[1][0]) * (v[0][1] - v[2][1]);
  function weights(p) {
    var a = ((v[1][1] - v[2][1]) * (p[0] - v[2][0]) + (v[2][0] - v[1][0]) * (p[1] - v[2][1])) / det;
    var b = ((v[2][1] - v[0][1]) * (p[0] - v[2][0]) + (v[0][0] - v[2][0]) * (p[1] - v[2][1])) / det;
    return [a, b, 1 - a - b];
  }
  function code(p) {
    var lam = weights(p), z = new Float32Array(d), norm = 0;
    for (var j = 0; j < d; j++) {
      z[j] = lam[0] * anchors[0][j] + lam[1] * anchors[1][j] + lam[2] * anchors[2][j];
      norm += z[j] * z[j];
    }
    norm = Math.sqrt(norm);
    for (var j2 = 0; j2 < d; j2++) { z[j2] *= payload.radius / norm; }
    return z;
  }
  var size = payload.size, thumb = document.createElement("canvas");
  thumb.width = size; thumb.height = size;
  function paint(bg, toPixel) {  // the triangle A, B, C with each corner's image beside it
    var Wc = bg.canvas.width, Hc = bg.canvas.height;
    bg.fillStyle = "#fff"; bg.fillRect(0, 0, Wc, Hc);
    var corners = v.map(toPixel);
    bg.strokeStyle = "#999"; bg.lineWidth = 1; bg.setLineDash([4, 3]);
    bg.beginPath(); bg.moveTo(corners[0][0], corners[0][1]);
    bg.lineTo(corners[1][0], corners[1][1]); bg.lineTo(corners[2][0], corners[2][1]);
    bg.closePath(); bg.stroke(); bg.setLineDash([]);
    bg.font = "bold 13px sans-serif"; bg.imageSmoothingEnabled = false;
    ["A", "B", "C"].forEach(function (name, k) {  // A's image to its right, B's and C's below
      vaeganPaint(thumb, decode(code(v[k])));
      var c = corners[k], x = k === 0 ? c[0] + 10 : c[0] - 21, y = k === 0 ? c[1] - 21 : c[1] + 8;
      bg.drawImage(thumb, Math.min(Wc - 44, Math.max(2, x)), Math.min(Hc - 44, Math.max(2, y)), 42, 42);
      bg.fillStyle = "#c00"; bg.fillText(name, c[0] - 16, c[1] - 6);
      bg.beginPath(); bg.arc(c[0], c[1], 3, 0, 2 * Math.PI); bg.fill();
    });
  }
  var plane = vaeganPlane(root, payload.extent, size, {
    paint: paint, start: payload.start,
    pixels: function (p) { return decode(code(p)); },
    describe: function (p) {
      var lam = weights(p);
      return "weights: A " + lam[0].toFixed(2) + ", B " + lam[1].toFixed(2) + ", C " + lam[2].toFixed(2);
    }
  });
  function gaussian() {  // Box-Muller
    var u = 1 - Math.random(), r = Math.random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r);
  }
  root.querySelector(".vaegan-redraw").addEventListener("click", function () {
    anchors = [0, 1, 2].map(function () {
      var a = []; for (var j = 0; j < d; j++) { a.push(gaussian()); } return a;
    });
    plane.repaint();
  });
  root.querySelector(".vaegan-reset").addEventListener("click", function () {
    anchors = payload.anchors; plane.repaint();
  });
  plane.repaint();
  vaeganStart(root, id, {
    decode: decode, code: code, getZ: plane.getZ, setZ: plane.setZ, toPixel: plane.toPixel
  });
}
