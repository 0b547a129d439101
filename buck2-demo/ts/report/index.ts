import { fixed } from "format";
import { area, UNIT, type Shape } from "shapes";

export function report(shapes: readonly Shape[]): string[] {
  return shapes.map((s) => `${s.kind}: ${fixed(area(s))} ${UNIT}`);
}
