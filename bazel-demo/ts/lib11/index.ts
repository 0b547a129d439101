import { make05, type Item05 } from "lib05";
import { make07, type Item07 } from "lib07";
import { make10, type Item10 } from "lib10";
import { describe, type Tagged } from "./util.js";

/** One value of library 11; it embeds values of the libraries it depends on. */
export interface Item11 extends Tagged {
  readonly id: number;
  readonly parts: readonly (Item05 | Item07 | Item10)[];
}

export function make11(n: number): Item11 {
  return { id: n * 12, tag: describe(n), parts: [make05(n + 0), make07(n + 1), make10(n + 2)] };
}

export const NAME11 = "lib11";
