#pragma once
// The vault key file: 64 hex digits and a newline, mode 0600, owned by the node's user.
// A key file that group or others may access is refused (the key would no longer be
// the only thing standing between a copy of the database and the secrets in it).
#include <string>

#include "runtime/core/fs.hpp"
#include "runtime/core/result.hpp"
#include "runtime/security/vault/secure_key.hpp"

namespace sb::security::vault {

// Errors: "vault.key_missing" (ENOENT), "vault.key_mode" (group/world bits set),
// "vault.key_file" (unreadable, not a regular file), "vault.bad_key" (content).
// Every message names the file.
Result<SecureKey> read_key_file(const std::string& path);

// Creates `path` with O_CREAT|O_EXCL and mode 0600, writes the key, fsyncs the file and
// its directory. Fails ("vault.key_file") if the file already exists.
Status create_key_file(const std::string& path, const SecureKey& key);

// fsync of a directory, so a create/rename/unlink in it is durable (core's
// fsync_directory with the vault's error code). parent_dir is core's too.
Status fsync_dir(const std::string& dir);

bool path_exists(const std::string& path);

}  // namespace sb::security::vault
