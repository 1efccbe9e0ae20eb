#!/usr/bin/env bash
# Fetch the JavaScript the rendered book needs, so that its pages work without a network:
# MathJax 3 (typesets the equations), require.js and the Jupyter widgets HTML manager (draws
# the widgets from the state saved at build time), and onnxruntime-web (runs the colorization
# model in the reader's browser, chapter 7). Versions are pinned and the npm registry's
# sha512 integrity of each tarball is checked before anything is unpacked.
#
# Usage: tools/fetch_vendor.sh [DEST]        (DEST defaults to book/_vendor)
#
# The files land outside _static/ on purpose: Jupyter Book adds every .js file found in a
# _static/ folder to every page. _config.yml points html_static_path, mathjax_path and
# nb_ipywidgets_js at DEST instead.
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=${1:-book/_vendor}

# name@version  sha512 integrity as published by the registry
PACKAGES=(
  "mathjax@3.2.2 sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw=="
  "@jupyter-widgets/html-manager@1.0.15 sha512-5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA=="
  "requirejs@2.3.8 sha512-7/cTSLOdYkNBNJcDMWf+luFvMriVm7eYxp4BcFCsAX0wF421Vyce5SXP17c+Jd5otXKGNehIonFlyQXSowL6Mw=="
  "onnxruntime-web@1.30.0 sha512-q0y+JrrtukXSzsBWEMccVfqX25LRmosXHF+CaRJmg8pZClzcV7svNc4rKY3jL02Vb7QmRMDs1SigqR4CXAfKYQ=="
)
STAMP="$DEST/.versions"
WANT=$(printf '%s\n' "${PACKAGES[@]}")
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]]; then
  echo "vendored JavaScript is up to date in $DEST"
  exit 0
fi

command -v npm >/dev/null || { echo "npm is needed to fetch the book's JavaScript (apt-get install -y npm)" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

for entry in "${PACKAGES[@]}"; do
  spec=${entry%% *}
  want=${entry#* }
  tarball=$(cd "$WORK" && npm pack --silent "$spec" | tail -n 1)
  got="sha512-$(openssl dgst -sha512 -binary "$WORK/$tarball" | base64 -w 0)"
  if [[ "$got" != "$want" ]]; then
    echo "integrity mismatch for $spec: expected $want, got $got" >&2
    exit 1
  fi
  mkdir -p "$WORK/${tarball%.tgz}"
  tar -xzf "$WORK/$tarball" -C "$WORK/${tarball%.tgz}"
  echo "fetched $spec ($tarball, integrity checked)"
done

rm -rf "$DEST"
mkdir -p "$DEST/mathjax" "$DEST/html-manager" "$DEST/requirejs" "$DEST/onnxruntime-web"
# MathJax: the es5 bundle (tex-chtml.js and the components and fonts it loads on demand).
cp -r "$WORK"/mathjax-3.2.2/package/es5 "$DEST/mathjax/"
cp "$WORK"/mathjax-3.2.2/package/LICENSE "$DEST/mathjax/"
# Widget manager: embed-amd.js and the font files it references relative to itself.
find "$WORK"/jupyter-widgets-html-manager-1.0.15/package/dist -maxdepth 1 -type f \
  ! -name '*.map' ! -name 'embed.js' ! -name 'libembed-amd.js' -exec cp {} "$DEST/html-manager/" \;
cp "$WORK"/jupyter-widgets-html-manager-1.0.15/package/package.json "$DEST/html-manager/"
cp "$WORK"/requirejs-2.3.8/package/require.js "$DEST/requirejs/"
# onnxruntime-web: the WebAssembly-only ES module with its loader bundled in, and the one .wasm it loads
# (SIMD; it runs on one thread when the page is not cross-origin isolated). package.json names the licence.
for file in ort.wasm.bundle.min.mjs ort-wasm-simd-threaded.wasm; do
  cp "$WORK"/onnxruntime-web-1.30.0/package/dist/$file "$DEST/onnxruntime-web/"
done
cp "$WORK"/onnxruntime-web-1.30.0/package/package.json "$DEST/onnxruntime-web/"
printf '%s\n' "$WANT" > "$STAMP"
echo "vendored JavaScript written to $DEST ($(du -sh "$DEST" | cut -f1))"
