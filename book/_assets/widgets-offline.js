// Lets the widget manager draw the widgets saved in a page without any network access.
// Loaded after require.js and before the widget manager (see nb_ipywidgets_js in _config.yml).
(function () {
  var here = document.currentScript ? document.currentScript.src : window.location.href;

  // The manager's stylesheet fetches its icon fonts from the folder require.js believes the
  // manager's modules came from. Map that module path to the copy served beside this file.
  if (window.require && window.require.config) {
    window.require.config({
      paths: { "@jupyter-widgets/html-manager/dist": new URL("html-manager", here).href },
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
