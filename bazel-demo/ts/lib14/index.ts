import { make07, type Item07 } from "lib07";
import { make13, type Item13 } from "lib13";
import { describe, type Tagged } from "./util.js";

/** One value of library 14; it embeds values of the libraries it depends on. */
export interface Item14 extends Tagged {
  readonly id: number;
  readonly parts: readonly (Item07 | Item13)[];
}

export function make14(n: number): Item14 {
  return { id: n * 15, tag: describe(n), parts: [make07(n + 0), make13(n + 1)] };
}

export const NAME14 = "lib14";
