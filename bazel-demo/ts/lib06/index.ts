import { make02, type Item02 } from "lib02";
import { make03, type Item03 } from "lib03";
import { make05, type Item05 } from "lib05";
import { describe, type Tagged } from "./util.js";

/** One value of library 06; it embeds values of the libraries it depends on. */
export interface Item06 extends Tagged {
  readonly id: number;
  readonly parts: readonly (Item02 | Item03 | Item05)[];
}

export function make06(n: number): Item06 {
  return { id: n * 7, tag: describe(n), parts: [make02(n + 0), make03(n + 1), make05(n + 2)] };
}

export const NAME06 = "lib06";
