// lib/course: the notebooks' settings (configs/course-notebooks.json), data, saved models, tables and charts.
export * from "./course";
