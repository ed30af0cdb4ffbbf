import { readdir, readFile } from "node:fs/promises";

/** A JSON file's content, or undefined when it is missing or not valid JSON (records are never trusted blindly). */
export async function readJsonFile<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as T;
  } catch {
    return undefined;
  }
}

/** The sorted names in a directory, or none when it does not exist. */
export async function listSorted(dir: string): Promise<string[]> {
  return readdir(dir).then((names) => names.sort(), () => []);
}
