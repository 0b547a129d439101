import { make06, type Item06 } from "lib06";
import { make07, type Item07 } from "lib07";
import { make12, type Item12 } from "lib12";
import { describe, type Tagged } from "./util.js";

/** One value of library 13; it embeds values of the libraries it depends on. */
export interface Item13 extends Tagged {
  readonly id: number;
  readonly parts: readonly (Item06 | Item07 | Item12)[];
}

export function make13(n: number): Item13 {
  return { id: n * 14, tag: describe(n), parts: [make06(n + 0), make07(n + 1), make12(n + 2)] };
}

export const NAME13 = "lib13";
