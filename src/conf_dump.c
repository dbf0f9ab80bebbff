/* `portico -S` and `portico -M`: the loaded configuration in the shape httpd -S prints. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "conf.h"

static void vaddr_text(const struct conf_vaddr *va, char *buf, size_t len)
{
    char ip[INET6_ADDRSTRLEN] = "*";
    char port[16] = "*";
    if (va->port > 0)
        snprintf(port, sizeof(port), "%d", va->port);
    if (!va->any_addr && va->addr.ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&va->addr)->sin6_addr, ip, sizeof(ip));
        snprintf(buf, len, "[%s]:%s", ip, port);
        return;
    }
    if (!va->any_addr)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)&va->addr)->sin_addr, ip, sizeof(ip));
    snprintf(buf, len, "%s:%s", ip, port);
}

static int vhost_has(const struct conf_server *v, const char *key)
{
    char t[80];
    for (const struct conf_vaddr *va = v->addrs; va != NULL; va = va->next) {
        vaddr_text(va, t, sizeof(t));
        if (strcmp(t, key) == 0)
            return 1;
    }
    return 0;
}

static void print_vhost(FILE *out, const struct conf_server *v, const char *prefix, int port)
{
    fprintf(out, "         %sport %d namevhost %s (%s:%d)\n", prefix, port, v->server_name, v->file,
            v->line);
    for (int i = 0; i < v->n_aliases; i++)
        fprintf(out, "                 alias %s\n", v->aliases[i]);
}

/* One block per distinct address, vhosts in config order: the first is the default. */
static void dump_vhosts(const struct conf *c, FILE *out)
{
    fprintf(out, "VirtualHost configuration:\n");
    for (const struct conf_server *v = c->vhosts; v != NULL; v = v->next) {
        for (const struct conf_vaddr *va = v->addrs; va != NULL; va = va->next) {
            char key[80];
            vaddr_text(va, key, sizeof(key));
            int seen = 0, count = 0;
            for (const struct conf_server *w = c->vhosts; w != v && !seen; w = w->next)
                seen = vhost_has(w, key);
            const struct conf_vaddr *prev;
            for (prev = v->addrs; prev != va && !seen; prev = prev->next) {
                char t[80];
                vaddr_text(prev, t, sizeof(t));
                seen = strcmp(t, key) == 0;
            }
            if (seen)
                continue;
            for (const struct conf_server *w = v; w != NULL; w = w->next)
                count += vhost_has(w, key);
            if (count == 1) {
                fprintf(out, "%-22s %s (%s:%d)\n", key, v->server_name, v->file, v->line);
                continue;
            }
            fprintf(out, "%-22s is a NameVirtualHost\n", key);
            fprintf(out, "         default server %s (%s:%d)\n", v->server_name, v->file, v->line);
            for (const struct conf_server *w = v; w != NULL; w = w->next)
                if (vhost_has(w, key))
                    print_vhost(out, w, "", va->port);
        }
    }
}

static const char *tokens_name(enum server_tokens t)
{
    static const char *const names[] = {"Prod", "Major", "Minor", "Minimal", "OS", "Full"};
    return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

void conf_dump(const struct conf *c, FILE *out)
{
    fprintf(out, "Listeners:\n");
    for (const struct conf_listener *l = c->listeners; l != NULL; l = l->next)
        fprintf(out, "  %-22s %-5s (%s:%d)\n", l->text, l->protocol, l->file, l->line);
    dump_vhosts(c, out);
    const struct conf_server *m = c->main;
    fprintf(out, "Main server: %s%s%s", m->server_scheme ? m->server_scheme : "",
            m->server_scheme ? "://" : "", m->server_name ? m->server_name : "(none)");
    if (m->server_port > 0)
        fprintf(out, ":%d", m->server_port);
    fprintf(out, "\n");
    fprintf(out, "ServerRoot: \"%s\"\n", c->server_root);
    fprintf(out, "Config file: \"%s\"\n", c->config_file);
    fprintf(out, "Main DocumentRoot: \"%s\"\n", m->document_root ? m->document_root : "(none)");
    fprintf(out, "Main ErrorLog: \"%s\"\n", m->error_log ? m->error_log : "");
    fprintf(out, "DefaultRuntimeDir: \"%s\"\n",
            c->default_runtime_dir ? c->default_runtime_dir : "");
    fprintf(out, "PidFile: \"%s\"\n", c->pid_file ? c->pid_file : "");
    if (c->user != NULL)
        fprintf(out, "User: name=\"%s\" id=%ld\n", c->user, (long)c->uid);
    else
        fprintf(out, "User: (not set: children keep the starting user)\n");
    if (c->group != NULL)
        fprintf(out, "Group: name=\"%s\" id=%ld\n", c->group, (long)c->gid);
    else
        fprintf(out, "Group: (not set: children keep the starting group)\n");
    fprintf(out, "ServerTokens: %s\n", tokens_name(c->server_tokens));
    fprintf(out,
            "MPM prefork: StartServers %d, MinSpareServers %d, MaxSpareServers %d, "
            "MaxRequestWorkers %d, ServerLimit %d, MaxConnectionsPerChild %d, ListenBacklog "
            "%d, GracefulShutdownTimeout %d\n",
            c->start_servers, c->min_spare_servers, c->max_spare_servers, c->max_request_workers,
            c->server_limit, c->max_connections_per_child, c->listen_backlog,
            c->graceful_shutdown_timeout);
    for (const struct conf_define *d = c->defines; d != NULL; d = d->next)
        fprintf(out, "Define: %s%s%s\n", d->name, d->value ? "=" : "", d->value ? d->value : "");
}

void conf_dump_modules(FILE *out)
{
    fprintf(out, "Loaded Modules:\n");
    for (int i = 0; i < MOD_COUNT; i++)
        if (module_available(i))
            fprintf(out, " %s_module (static)\n", modules_builtin[i].name);
}
