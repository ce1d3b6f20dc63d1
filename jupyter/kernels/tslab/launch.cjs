// Starts the repo's own tslab with the repo root as working directory: tslab compiles cells
// with rootDir = cwd, so cells can only `import ... from "./lib/..."` when cwd is the root.
const path = require("node:path");
const root = path.resolve(__dirname, "../../..");
process.chdir(root);
const { startKernel } = require(require.resolve("tslab/dist/main.js", { paths: [root] }));
startKernel({ configPath: process.argv[2], enableFindLocal: false });
