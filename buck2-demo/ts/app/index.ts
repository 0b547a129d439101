import { report } from "report";
import type { Shape } from "shapes";

const shapes: Shape[] = [
  { kind: "circle", r: 1 },
  { kind: "square", side: 2 },
];
export const lines: string[] = report(shapes);
