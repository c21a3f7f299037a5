/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Broker addresses: parsing host:port, resolving, and the sender's poll. */
#include "gstinstructblippublishtransport.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

void
gst_instructblip_publish_settings_clear (GstInstructBlipPublishSettings *s)
{
  g_free (s->address);
  g_free (s->topic);
  g_free (s->file_path);
  g_free (s->client_id);
  g_free (s->tls_ca_file);
  g_free (s->tls_cert_file);
  g_free (s->tls_key_file);
  g_free (s->username);
  g_free (s->password);
  g_free (s->source_id);
  memset (s, 0, sizeof *s);
}

gboolean
gst_instructblip_publish_parse_host_port (const char *address,
    guint default_port, char **host, guint *port, GError **err)
{
  const char *colon = NULL, *end;
  char *h = NULL;
  guint64 p = default_port;
  char *tail = NULL;

  if (address == NULL || *address == '\0') {
    g_set_error (err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
        "No broker address (property address: host:port)");
    return FALSE;
  }
  if (address[0] == '[') {
    end = strchr (address, ']');
    if (end == NULL || end == address + 1)
      goto bad;
    h = g_strndup (address + 1, end - address - 1);
    if (end[1] == ':')
      colon = end + 1;
    else if (end[1] != '\0')
      goto bad;
  } else {
    colon = strrchr (address, ':');
    if (colon && strchr (address, ':') != colon)
      goto bad; /* a bare IPv6 address: needs brackets */
    h = colon ? g_strndup (address, colon - address) : g_strdup (address);
  }
  if (*h == '\0' || strpbrk (h, " \t/,") != NULL)
    goto bad;
  if (colon) {
    errno = 0;
    p = g_ascii_strtoull (colon + 1, &tail, 10);
    if (colon[1] == '\0' || *tail != '\0' || errno || p == 0 || p > 65535)
      goto bad;
  }
  *host = h;
  *port = (guint) p;
  return TRUE;
bad:
  g_free (h);
  g_set_error (err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
      "Bad broker address \"%s\" (property address): expected host:port "
      "with a port in 1-65535",
      address);
  return FALSE;
}

gboolean
gst_instructblip_publish_resolve (const char *host, guint port, GError **err)
{
  struct addrinfo hints, *res = NULL;
  char service[8];
  int rc;

  memset (&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  g_snprintf (service, sizeof service, "%u", port);
  rc = getaddrinfo (host, service, &hints, &res);
  if (rc != 0) {
    g_set_error (err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
        "Cannot resolve the broker host \"%s\" (property address): %s", host,
        gai_strerror (rc));
    return FALSE;
  }
  freeaddrinfo (res);
  return TRUE;
}

short
gst_instructblip_publish_poll (GstInstructBlipPublishOutbox *ob, int fd,
    short events, int timeout_ms)
{
  struct pollfd fds[2];
  nfds_t n = 1;

  fds[0].fd = gst_instructblip_publish_outbox_wake_fd (ob);
  fds[0].events = POLLIN;
  fds[0].revents = 0;
  if (fd >= 0) {
    fds[1].fd = fd;
    fds[1].events = events;
    fds[1].revents = 0;
    n = 2;
  }
  if (poll (fds, n, timeout_ms) <= 0)
    return 0;
  if (fds[0].revents)
    gst_instructblip_publish_outbox_clear_wake (ob);
  return n == 2 ? fds[1].revents : 0;
}
