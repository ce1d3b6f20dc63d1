// lib/report: offline Plotly charts (notebooks, HTML reports) and text tables.
export * from "./plot";
