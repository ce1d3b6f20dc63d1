// tslab's display, for the charts a notebook shows. Required when first used, not imported: tslab is a dev
// dependency (the package does not install Jupyter's kernel), and inside a notebook kernel, where lib/ is compiled
// to CommonJS, tslab's require hook hands out the running kernel's own module. Outside a kernel this throws.
export type NotebookDisplay = (typeof import("tslab"))["display"];

export function notebookDisplay(): NotebookDisplay {
  return (require("tslab") as typeof import("tslab")).display;
}
