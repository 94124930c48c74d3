/*
 * config.h - the JSON VM-config parser (host side: type 2 and the type-1 packer).
 *
 * A file holds one VM object or {"vms": [ ... ]}; keys are documented in docs/config.md.
 * Parsed with jansson. Every error is one line: "FILE: KEY: what is wrong" (with the
 * line/column for JSON syntax errors). Unknown keys are errors. Relative paths (kernel,
 * initrd, disks) are resolved against the config file's directory.
 */
#ifndef DUO_TOOLS_CONFIG_H
#define DUO_TOOLS_CONFIG_H

#include <stddef.h>
#include <duo/vm.h>

/* cfg_load_file - parse `path` into out[0..max). Returns the number of VMs (>= 1) or -1
 * with the error line in err. Each VM passed vm_config_check; names are unique. */
int cfg_load_file(const char *path, struct vm_config *out, int max, char *err, size_t errlen);

/* cfg_parse_string - the same on a string; `origin` names it in errors and `basedir`
 * resolves relative paths (NULL: leave them as they are). */
int cfg_parse_string(const char *json, const char *origin, const char *basedir,
		     struct vm_config *out, int max, char *err, size_t errlen);

#endif
