// Package safefs is certkit's one file layer: every command reads and
// writes the certkit home and the certs roots through it.
//
// Its one rule: a process running as root never acts in a folder a user
// controls with more than that user's rights. Controller names the user
// who controls a path (the owner of the first folder on it, from the top,
// that is not root's); Run performs file operations with that user's
// file-system credentials (setfsuid on a thread of its own), so the
// kernel itself refuses what the user could not do: following a link of
// the user's to a root-only key, renaming into a root folder, a chmod of
// root's file. Nothing root creates there needs a chown: it is the user's
// from the start.
//
// Reads are bounded (ReadFile): a regular file of at most a given size,
// opened without waiting on a named pipe, checked on the open descriptor,
// and, in a folder a user controls, owned by that user or by root. Locks
// (Lock) keep two certkit processes from changing one home or one certs
// root at once.
package safefs
