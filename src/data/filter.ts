// Which paths count as images, shared by folders and archives so both skip the same things.

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.gif', '.webp'];

/** By extension: a file that claims to be an image and does not decode is counted as unreadable, not ignored. */
export function isImageName(name: string): boolean {
  const dot = name.lastIndexOf('.');
  return dot >= 0 && IMAGE_EXTENSIONS.includes(name.slice(dot).toLowerCase());
}

/** macOS archive litter (`__MACOSX/`, `._x.png` resource forks) and dot-files or dot-folders anywhere in the path. */
export function isIgnoredPath(relPath: string): boolean {
  return relPath.split(/[\\/]/).some((part) => part === '__MACOSX' || part.startsWith('.'));
}
