// The demo page: loads the served model folder with TensorFlow.js, lets the user click cities into a trip, and after
// every click shows the next-city recommendations computed in the browser beside the service's answer for the very
// same events (differing positions are highlighted).
// URL parameters (all optional):
//   backend=webgl|cpu   tfjs backend (default webgl, falling back to cpu where WebGL is missing)
//   model=URL           the model folder (default "model/" beside the page)
//   api=URL             the service (default this page's origin)
//   k=N                 recommendations shown (default 10)
// For scripts (the end-to-end test): <body data-state> is loading | ready | error, and each recommendation list's
// data-for attribute names the trip (items joined by ",") it shows, once it shows it.
import * as tf from "@tensorflow/tfjs";
import { type FetchedModel, type Recommendation, fetchModel } from "sessionrec/browser";
import { type ItemValue, type RawEvent, demoSessionBuilder, itemCatalogue } from "./session";

const POPULAR_SHOWN = 30;
const SEARCH_SHOWN = 30;
const DEFAULT_K = 10;
/** The validation metrics named in the header (model.json may hold many more). */
const SHOWN_METRICS = /^(recall|mrr)@/;

interface PageConfig {
  backend: string;
  modelUrl: URL;
  apiUrl: URL;
  k: number;
}

function readConfig(): PageConfig {
  const params = new URLSearchParams(location.search);
  const k = Number(params.get("k") ?? DEFAULT_K);
  if (!Number.isInteger(k) || k < 1)
    throw new Error(`URL parameter k must be an integer >= 1, got "${params.get("k")}"`);
  return {
    backend: params.get("backend") ?? "webgl",
    modelUrl: new URL(params.get("model") ?? "model/", location.href),
    apiUrl: new URL(params.get("api") ?? "/", location.href),
    k,
  };
}

const element = <T extends HTMLElement>(id: string): T => {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`demo: index.html has no #${id}`);
  return found as T;
};

const ui = {
  modelInfo: element("model-info"),
  status: element("status"),
  search: element<HTMLInputElement>("search"),
  catalogue: element("catalogue"),
  trip: element<HTMLOListElement>("trip"),
  undo: element<HTMLButtonElement>("undo"),
  reset: element<HTMLButtonElement>("reset"),
  local: element<HTMLOListElement>("local-recs"),
  localTiming: element("local-timing"),
  server: element<HTMLOListElement>("server-recs"),
  serverTiming: element("server-timing"),
};

function showStatus(text: string, state?: "ready" | "error"): void {
  ui.status.textContent = text;
  ui.status.classList.toggle("error", state === "error");
  if (state !== undefined) document.body.dataset.state = state;
}

/** The backend asked for, else cpu (always there); returns the one in use. */
async function startBackend(wanted: string): Promise<string> {
  const started = await tf.setBackend(wanted).catch(() => false);
  if (!started) await tf.setBackend("cpu");
  await tf.ready();
  return tf.getBackend();
}

/** A recommendation as shown: the service sends null for a score that is not a finite number. */
type Shown = { items: Recommendation["items"]; scores: (number | null)[] };

/** The top-k of the service for `events`. */
async function askService(apiUrl: URL, events: RawEvent[], k: number): Promise<Shown> {
  const response = await fetch(new URL("v1/recommend", apiUrl), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ session: events, k }),
  });
  const body = (await response.json().catch(() => null)) as (Shown & { message?: string }) | null;
  if (!response.ok || body === null)
    throw new Error(`the service answered HTTP ${response.status}: ${body?.message ?? response.statusText}`);
  return body;
}

function itemButton(item: ItemValue, onClick: () => void): HTMLButtonElement {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "item";
  button.dataset.item = String(item);
  button.textContent = String(item);
  button.addEventListener("click", onClick);
  return button;
}

/** One event of the trip: the clicked item, then the other fields the page filled in (dates, countries, …). */
function tripEntry(item: ItemValue, event: RawEvent, itemColumn: string): HTMLLIElement {
  const li = document.createElement("li");
  li.dataset.item = String(item);
  const details = document.createElement("span");
  details.className = "details";
  details.textContent = Object.entries(event)
    .filter(([column]) => column !== itemColumn)
    .map(([column, value]) => `${column} ${String(value)}`)
    .join(", ");
  li.append(String(item), document.createElement("br"), details);
  return li;
}

/** Fills `list` with the recommendation, marking the positions where `other` (the other side) differs. */
function showRecommendation(
  list: HTMLOListElement,
  trip: readonly ItemValue[],
  result: Shown,
  other: Shown | null,
  onPick: (item: ItemValue) => void,
): void {
  list.replaceChildren(
    ...result.items.map((item, rank) => {
      const li = document.createElement("li");
      li.dataset.item = String(item);
      li.dataset.score = String(result.scores[rank]);
      li.classList.toggle("differs", other !== null && String(other.items[rank]) !== String(item));
      const name = itemButton(item, () => onPick(item));
      const score = document.createElement("span");
      score.className = "score";
      score.textContent = result.scores[rank]?.toFixed(4) ?? "–";
      li.append(name, score);
      return li;
    }),
  );
  list.dataset.for = trip.join(",");
}

async function main(): Promise<void> {
  const config = readConfig();
  const backend = await startBackend(config.backend);
  showStatus(`Loading the model from ${config.modelUrl.href} (tfjs ${backend} backend)…`);
  const { recommender, workflow }: FetchedModel = await fetchModel(config.modelUrl);
  const { manifest } = recommender;
  const catalogue = itemCatalogue(workflow, manifest.schema);
  const sessionOf = demoSessionBuilder(workflow, manifest.schema);
  const k = Math.min(config.k, catalogue.values.length);
  const metrics = Object.entries(manifest.metrics)
    .filter(([name]) => SHOWN_METRICS.test(name))
    .map(([name, value]) => `${name} ${value.toFixed(3)}`)
    .join(", ");
  ui.modelInfo.textContent = `Model "${manifest.name}" (${manifest.kind}), trained ${manifest.trainedAt}${metrics ? `; validation ${metrics}` : ""}; ${catalogue.values.length} known cities.`;

  const trip: ItemValue[] = [];
  let generation = 0;

  const render = async (): Promise<void> => {
    const current = ++generation;
    const items = [...trip];
    const events = sessionOf(items);
    ui.trip.replaceChildren(...events.map((event, i) => tripEntry(items[i], event, catalogue.column)));
    ui.undo.disabled = ui.reset.disabled = items.length === 0;
    if (items.length === 0) {
      for (const list of [ui.local, ui.server]) {
        list.replaceChildren();
        list.dataset.for = "";
      }
      ui.localTiming.textContent = ui.serverTiming.textContent = "";
      showStatus("Click a city to start a trip.", "ready");
      return;
    }
    const timed = async (compute: () => Promise<Shown>) => {
      const started = performance.now();
      const result = await compute();
      return { result, ms: performance.now() - started };
    };
    const [local, server] = await Promise.allSettled([
      timed(() => recommender.recommend(events, k)),
      timed(() => askService(config.apiUrl, events, k)),
    ]);
    if (current !== generation) return; // a later click is being answered
    const localResult = local.status === "fulfilled" ? local.value.result : null;
    const serverResult = server.status === "fulfilled" ? server.value.result : null;
    const problems: string[] = [];
    if (local.status === "fulfilled") {
      showRecommendation(ui.local, items, local.value.result, serverResult, add);
      ui.localTiming.textContent = `tfjs ${backend} backend, ${local.value.ms.toFixed(1)} ms`;
    } else problems.push(`in this browser: ${(local.reason as Error).message}`);
    if (server.status === "fulfilled") {
      showRecommendation(ui.server, items, server.value.result, localResult, add);
      ui.serverTiming.textContent = `POST ${new URL("v1/recommend", config.apiUrl).pathname}, ${server.value.ms.toFixed(1)} ms round trip`;
    } else problems.push(`service: ${(server.reason as Error).message}`);
    if (problems.length > 0) showStatus(`Could not recommend — ${problems.join("; ")}`, "error");
    else
      showStatus(`Trip of ${items.length} ${items.length === 1 ? "city" : "cities"}: top ${k} next cities.`, "ready");
  };

  function add(item: ItemValue): void {
    trip.push(item);
    void render();
  }

  const showCatalogue = (values: readonly ItemValue[]): void =>
    ui.catalogue.replaceChildren(...values.map((item) => itemButton(item, () => add(item))));
  ui.search.addEventListener("input", () => {
    const query = ui.search.value.trim().toLowerCase();
    const matches =
      query === ""
        ? catalogue.values.slice(0, POPULAR_SHOWN)
        : catalogue.values.filter((value) => String(value).toLowerCase().includes(query)).slice(0, SEARCH_SHOWN);
    showCatalogue(matches);
  });
  ui.undo.addEventListener("click", () => {
    trip.pop();
    void render();
  });
  ui.reset.addEventListener("click", () => {
    trip.length = 0;
    void render();
  });
  showCatalogue(catalogue.values.slice(0, POPULAR_SHOWN));
  ui.search.disabled = false;
  await render();
}

main().catch((error: unknown) => {
  console.error(error);
  showStatus(`The demo could not start: ${error instanceof Error ? error.message : String(error)}`, "error");
});
