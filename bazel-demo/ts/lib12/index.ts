import { make06, type Item06 } from "lib06";
import { make07, type Item07 } from "lib07";
import { make11, type Item11 } from "lib11";
import { describe, type Tagged } from "./util.js";

/** One value of library 12; it embeds values of the libraries it depends on. */
export interface Item12 extends Tagged {
  readonly id: number;
  readonly parts: readonly (Item06 | Item07 | Item11)[];
}

export function make12(n: number): Item12 {
  return { id: n * 13, tag: describe(n), parts: [make06(n + 0), make07(n + 1), make11(n + 2)] };
}

export const NAME12 = "lib12";
