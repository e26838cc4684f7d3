/* The latent-space explorer of vaegan_utils.explorer: a 2-D VAE decoder (an MLP) run in the
   page. Weights arrive as base64 float16 in a JSON script tag; the decoder is plain JavaScript,
   so the page works when opened from disk (no fetch, no modules, no WebAssembly). */
function vaeganExplorer(id) {
  "use strict";
  var root = document.getElementById(id);
  if (!root || root.getAttribute("data-ready")) { return; }
  var payload = JSON.parse(root.querySelector(".vaegan-payload").textContent);

  function halves(b64) {  // base64 little-endian float16 -> Float32Array
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
  var layers = payload.layers.map(function (l) {
    return { rows: l.shape[0], cols: l.shape[1], w: halves(l.kernel), b: halves(l.bias),
             act: l.activation };
  });

  function decode(z) {  // a 2-D code -> 784 pixel probabilities (the sigmoid of the logits)
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

  var plane = root.querySelector(".vaegan-plane"), digit = root.querySelector(".vaegan-digit");
  var readout = root.querySelector(".vaegan-readout");
  var ext = payload.extent, W = plane.width, H = plane.height;
  function toPixel(z) {
    return [(z[0] - ext[0]) / (ext[1] - ext[0]) * W, (1 - (z[1] - ext[2]) / (ext[3] - ext[2])) * H];
  }
  function toCode(px, py) {
    return [ext[0] + px / W * (ext[1] - ext[0]), ext[2] + (1 - py / H) * (ext[3] - ext[2])];
  }

  // The codes, drawn once on an offscreen canvas; the marker is drawn over a copy of it.
  var background = document.createElement("canvas");
  background.width = W; background.height = H;
  var bg = background.getContext("2d"), points = halves(payload.points);
  bg.fillStyle = "#fff"; bg.fillRect(0, 0, W, H);
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

  var small = document.createElement("canvas");
  small.width = 28; small.height = 28;
  var z = [(ext[0] + ext[1]) / 2, (ext[2] + ext[3]) / 2];

  function draw() {
    var ctx = plane.getContext("2d"), p = toPixel(z);
    ctx.drawImage(background, 0, 0);
    ctx.strokeStyle = "#000"; ctx.lineWidth = 2;
    ctx.beginPath(); ctx.arc(p[0], p[1], 7, 0, 2 * Math.PI); ctx.stroke();
    var pixels = decode(z), image = small.getContext("2d").createImageData(28, 28);
    for (var n = 0; n < 784; n++) {
      var v = Math.round(255 * pixels[n]);
      image.data[4 * n] = image.data[4 * n + 1] = image.data[4 * n + 2] = v;
      image.data[4 * n + 3] = 255;
    }
    small.getContext("2d").putImageData(image, 0, 0);
    var out = digit.getContext("2d");
    out.imageSmoothingEnabled = false;
    out.drawImage(small, 0, 0, digit.width, digit.height);
    readout.textContent = "z = (" + z[0].toFixed(2) + ", " + z[1].toFixed(2) + ")";
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
  window.vaeganExplorers = window.vaeganExplorers || {};
  window.vaeganExplorers[id] = {
    decode: decode, getZ: function () { return z.slice(); }, setZ: moveTo, toPixel: toPixel
  };
  root.setAttribute("data-ready", "1");
  root.style.display = "block";
  draw();
}
