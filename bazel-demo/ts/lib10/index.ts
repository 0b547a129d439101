import { make05, type Item05 } from "lib05";
import { make07, type Item07 } from "lib07";
import { make09, type Item09 } from "lib09";
import { describe, type Tagged } from "./util.js";

/** One value of library 10; it embeds values of the libraries it depends on. */
export interface Item10 extends Tagged {
  readonly id: number;
  readonly parts: readonly (Item05 | Item07 | Item09)[];
}

export function make10(n: number): Item10 {
  return { id: n * 11, tag: describe(n), parts: [make05(n + 0), make07(n + 1), make09(n + 2)] };
}

export const NAME10 = "lib10";
