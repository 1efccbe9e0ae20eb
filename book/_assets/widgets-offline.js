// Lets the widget manager draw the widgets saved in a page without any network access.
// Loaded after require.js and before the widget manager (see nb_ipywidgets_js in _config.yml).
(function () {
  var here = document.currentScript ? document.currentScript.src : window.location.href;

  // The stylesheets of the manager and of the widget modules fetch their icon fonts from the
  // folder require.js believes each module came from: "@jupyter-widgets/html-manager/dist/..."
  // or "@jupyter-widgets/<module>", relative to the page. Map both to the copy beside this file.
  if (window.require && window.require.config) {
    var manager = new URL("html-manager", here).href;
    window.require.config({
      paths: {
        "@jupyter-widgets/html-manager/dist": manager,
        "@jupyter-widgets": manager,
      },
    });
  }

  // ipywidgets 8 typesets widget labels with the MathJax 2 call MathJax.Hub.Queue; the book loads
  // MathJax 3, which has no Hub. Forward those calls to MathJax 3's typesetPromise.
  document.addEventListener("DOMContentLoaded", function () {
    var mathjax = window.MathJax;
    if (!mathjax || mathjax.Hub || !mathjax.startup) {
      return;
    }
    mathjax.Hub = {
      Queue: function () {
        Array.prototype.forEach.call(arguments, function (job) {
          if (Array.isArray(job) && job[0] === "Typeset") {
            var element = job[2];
            mathjax.startup.promise.then(function () {
              return mathjax.typesetPromise(element ? [element] : undefined);
            });
          }
        });
      },
    };
  });
})();
