#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <unistd.h>

#include "knox_spawn.h"

int knox_spawn_addclosefrom(void *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np((posix_spawn_file_actions_t *)actions, from);
}

int knox_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }
