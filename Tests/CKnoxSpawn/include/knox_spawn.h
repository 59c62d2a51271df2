#ifndef KNOX_SPAWN_H
#define KNOX_SPAWN_H

/* The two GNU calls the tests' child processes need, which Swift's Glibc module does not export. */

/* posix_spawn_file_actions_addclosefrom_np: the child closes every descriptor >= from (actions points to a
   posix_spawn_file_actions_t). */
int knox_spawn_addclosefrom(void *actions, int from);

/* pipe2(fds, O_CLOEXEC): a pipe whose ends no exec'd child inherits. */
int knox_pipe_cloexec(int fds[2]);

#endif
