/* file.c - whole-file read and crash-safe (atomic, fsynced) write. */
#include "base.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int ao_file_read(const char *path, ao_buf *out, ao_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ao_err_set(err, errno == ENOENT ? AO_ENOTFOUND : AO_EIO,
                          "%s: %s", path, strerror(errno));
    for (;;) {
        if (ao_buf_reserve(out, 65536)) {
            close(fd);
            return ao_err_set(err, AO_ENOMEM, "%s: out of memory", path);
        }
        ssize_t n = read(fd, out->data + out->len, out->cap - out->len - 1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            return ao_err_set(err, AO_EIO, "%s: %s", path, strerror(e));
        }
        if (n == 0)
            break;
        out->len += (size_t)n;
    }
    out->data[out->len] = 0;
    close(fd);
    return AO_OK;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int ao_file_write_atomic(const char *path, const void *p, size_t n, int mode,
                         ao_error *err)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 32);
    char *dircopy = strdup(path);
    if (!tmp || !dircopy) {
        free(tmp);
        free(dircopy);
        return ao_err_set(err, AO_ENOMEM, "out of memory");
    }
    snprintf(tmp, plen + 32, "%s.tmp.%ld", path, (long)getpid());
    int rc = AO_OK;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        rc = ao_err_set(err, AO_EIO, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    if (write_all(fd, p, n) || fsync(fd)) {
        rc = ao_err_set(err, AO_EIO, "%s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        goto out;
    }
    close(fd);
    if (rename(tmp, path)) {
        rc = ao_err_set(err, AO_EIO, "%s: %s", path, strerror(errno));
        unlink(tmp);
        goto out;
    }
    int dfd = open(dirname(dircopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
out:
    free(tmp);
    free(dircopy);
    return rc;
}
