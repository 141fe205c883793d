/*
 * apiconfig.cc: GET and PUT /1/config, xmrig-proxy's way to read and
 * replace the configuration through the API.
 *
 * Both need http.access-token set and http.restricted false; anything
 * else is 403, whatever the token. GET answers the configuration in
 * force, the JSON object the daemon loaded (not the file as it may be
 * now, if it changed since), with every secret masked by
 * secret_mask_json(): pool passwords, the access password, the token,
 * the switch API's password and the password of a URL.
 *
 * PUT (or POST, as xmrig-proxy allows) takes a whole configuration as
 * a JSON body of at most APICONFIG_BODY_MAX bytes. The masked values
 * that GET shows stand for the secrets in force (secret_unmask_json), so
 * a GET, an edit and a PUT change only what was edited. The result is
 * handed to main.cc, which builds it exactly as a reload builds the file
 * (the errors name the file), writes the file (apiconfig_write) and
 * applies it as a reload. A config that does not build is 400 with
 * every reason, and changes nothing; a file that cannot be written is
 * 500, and changes nothing either.
 *
 * The answers: {"status": 200, "warnings": [...]} after a change,
 * {"status": N, "error": "first reason", "errors": [...]} when refused.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/http.h>

#include "api.h"
#include "config.h"

#define APICONFIG_METHODS	"GET, HEAD, PUT, POST"
#define APICONFIG_BODY_NAME	"request body"	/* in a syntax error */

static apiconfig_apply_fn	 apiconfig_apply;

static void	 apiconfig_get(struct evhttp_request *);
static void	 apiconfig_put(struct evhttp_request *);
static int	 apiconfig_json_type(struct evhttp_request *);
static void	 apiconfig_answer(struct evhttp_request *, int, const char *,
		     struct strlist *, struct strlist *);
static int	 apiconfig_write_all(int, const char *, size_t);

/* Set what replaces the configuration (main.cc's build and apply). */
void
apiconfig_set_apply(apiconfig_apply_fn fn)
{
	apiconfig_apply = fn;
}

/* May /1/config be read and replaced under the config c? */
int
apiconfig_allowed(const struct config *c)
{
	return c->http.access_token != NULL && !c->http.restricted;
}

/* The methods /1/config serves (for Allow and a CORS preflight). */
const char *
apiconfig_methods(void)
{
	return APICONFIG_METHODS;
}

/*
 * A request of /1/config that passed the API's gate (the token is right,
 * if one is set): the method, the access rule, then the page.
 */
void
apiconfig_request(struct evhttp_request *req)
{
	switch (evhttp_request_get_command(req)) {
	case EVHTTP_REQ_GET:
	case EVHTTP_REQ_HEAD:
	case EVHTTP_REQ_PUT:
	case EVHTTP_REQ_POST:
		break;
	default:
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", APICONFIG_METHODS);
		api_error(req, 405, "Method Not Allowed",
		    "method not allowed on this endpoint");
		return;
	}
	if (!apiconfig_allowed(sl.conf)) {
		api_error(req, 403, "Forbidden", "/1/config needs "
		    "http.access-token set and http.restricted false");
		return;
	}
	switch (evhttp_request_get_command(req)) {
	case EVHTTP_REQ_GET:
	case EVHTTP_REQ_HEAD:
		apiconfig_get(req);
		break;
	default:
		apiconfig_put(req);
		break;
	}
}

/* GET /1/config: the configuration in force, its secrets masked. */
static void
apiconfig_get(struct evhttp_request *req)
{
	struct evbuffer	*b;
	json_t		*j;
	char		*s;

	if (sl.conf->json == NULL ||
	    (j = json_deep_copy(sl.conf->json)) == NULL) {
		api_error(req, 500, "Internal Server Error",
		    "the configuration in force is not at hand");
		return;
	}
	secret_mask_json(j);
	/* Indented, as a config file is (and as xmrig-proxy answers). */
	s = json_dumps(j, JSON_INDENT(4));
	json_decref(j);
	if (s == NULL || (b = evbuffer_new()) == NULL)
		fatalx("%s: out of memory", __func__);
	evbuffer_add(b, s, strlen(s));
	evbuffer_add(b, "\n", 1);
	free(s);
	api_reply(req, HTTP_OK, "OK", b, API_JSON);
	evbuffer_free(b);
}

/*
 * Is the body declared JSON? xmrig-proxy answers 415 to a change that
 * is not "Content-Type: application/json"; parameters may follow.
 */
static int
apiconfig_json_type(struct evhttp_request *req)
{
	const char	*t = evhttp_find_header(
			    evhttp_request_get_input_headers(req),
			    "Content-Type");

	if (t == NULL || strncasecmp(t, "application/json", 16) != 0)
		return 0;
	t += 16;
	return *t == '\0' || *t == ';' || *t == ' ' || *t == '\t';
}

/*
 * PUT /1/config: parse, put the secrets in force back, then build, write
 * and apply through main.cc. The snapshot in force is held while main.cc
 * replaces it, for its path in the errors.
 */
static void
apiconfig_put(struct evhttp_request *req)
{
	struct strlist		 errors = {}, warnings = {};
	struct evbuffer		*in = evhttp_request_get_input_buffer(req);
	struct config		*old;
	const char		*text, *status;
	enum apiconfig_result	 rc;
	json_t			*root;
	size_t			 len = evbuffer_get_length(in);
	char			 peer[80];

	if (!apiconfig_json_type(req)) {
		api_error(req, 415, "Unsupported Media Type",
		    "the body must be JSON, with \"Content-Type: "
		    "application/json\"");
		return;
	}
	/* evhttp refuses a longer body first; this is the same limit. */
	if (len > APICONFIG_BODY_MAX) {
		api_error(req, 413, "Payload Too Large",
		    "a configuration may have 1 MiB");
		return;
	}
	text = len > 0 ? (const char *)evbuffer_pullup(in, -1) : "";
	old = config_ref(sl.conf);
	root = config_parse(APICONFIG_BODY_NAME, text, len, &errors);
	if (root != NULL &&
	    secret_unmask_json(root, old->json, old->path, &errors) == 0) {
		if (apiconfig_apply == NULL) {
			strlist_add(&errors, "this sluice cannot replace its "
			    "configuration");
			rc = APICONFIG_UNAVAILABLE;
		} else
			rc = apiconfig_apply(root, &errors, &warnings);
	} else
		rc = APICONFIG_INVALID;
	json_decref(root);
	config_unref(old);

	switch (rc) {
	case APICONFIG_APPLIED:
		status = "applied";
		apiconfig_answer(req, 200, "OK", NULL, &warnings);
		break;
	case APICONFIG_INVALID:
		status = "invalid";
		apiconfig_answer(req, 400, "Bad Request", &errors, NULL);
		break;
	case APICONFIG_UNAVAILABLE:
		status = "unavailable";
		apiconfig_answer(req, 503, "Service Unavailable", &errors,
		    NULL);
		break;
	default:
		status = "failed";
		apiconfig_answer(req, 500, "Internal Server Error", &errors,
		    NULL);
		break;
	}
	log_info("type=api_config status=%s peer=%s errors=%zu warnings=%zu",
	    status, api_peer(req, peer, sizeof peer), errors.n, warnings.n);
	strlist_clear(&errors);
	strlist_clear(&warnings);
}

/*
 * Answer a PUT: {"status": code, "warnings": [...]} for a success, else
 * {"status": code, "error": first, "errors": [...]}.
 */
static void
apiconfig_answer(struct evhttp_request *req, int code, const char *reason,
    struct strlist *errors, struct strlist *warnings)
{
	struct strlist	*l = errors != NULL ? errors : warnings;
	struct evbuffer	*b;
	json_t		*o, *a;
	char		*s;
	size_t		 i;

	o = json_object();
	json_object_set_new(o, "status", json_integer(code));
	a = json_array();
	for (i = 0; i < l->n; i++)
		json_array_append_new(a, json_string(l->v[i]));
	if (errors != NULL)
		json_object_set_new(o, "error", json_string(errors->n > 0 ?
		    errors->v[0] : reason));
	json_object_set_new(o, errors != NULL ? "errors" : "warnings", a);
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (s == NULL || (b = evbuffer_new()) == NULL)
		fatalx("%s: out of memory", __func__);
	evbuffer_add(b, s, strlen(s));
	evbuffer_add(b, "\n", 1);
	free(s);
	api_reply(req, code, reason, b, API_JSON);
	evbuffer_free(b);
}

/* Write all of buf to fd; -1 with errno on a failure. */
static int
apiconfig_write_all(int fd, const char *buf, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Replace the config file at path with root, atomically: a temporary
 * file beside it (with the old file's owner, if we may, and mode),
 * written and synced, renamed over it, then the folder synced. A
 * symbolic link stays one: the file it points to is replaced. On a
 * failure the file is as it was; the reason is added to errors and -1
 * returned.
 */
int
apiconfig_write(const char *path, json_t *root, struct strlist *errors)
{
	struct stat	 st;
	char		*target, *tmp = NULL, *text = NULL, *slash;
	int		 fd = -1, dfd, have, saved;

	if ((target = realpath(path, NULL)) == NULL)
		target = xstrdup(path);
	have = stat(target, &st) == 0;
	if ((text = json_dumps(root, JSON_INDENT(4))) == NULL) {
		errno = ENOMEM;
		goto fail;
	}
	xasprintf(&tmp, "%s.XXXXXX", target);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		free(tmp);
		tmp = NULL;
		goto fail;
	}
	if (have) {
		if (fchown(fd, st.st_uid, st.st_gid) == -1) {
			/* Not root: the file is ours, in our group. */
		}
		if (fchmod(fd, st.st_mode & 07777) == -1)
			goto fail;
	}
	if (apiconfig_write_all(fd, text, strlen(text)) == -1 ||
	    apiconfig_write_all(fd, "\n", 1) == -1 || fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, target) == -1)
		goto fail;
	free(tmp);
	tmp = NULL;
	/* The rename is durable once the folder is synced. */
	if ((slash = strrchr(target, '/')) != NULL) {
		*slash = '\0';
		dfd = open(slash == target ? "/" : target,
		    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	} else
		dfd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd != -1) {
		fsync(dfd);
		close(dfd);
	}
	free(text);
	free(target);
	return 0;

fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	if (tmp != NULL)
		unlink(tmp);
	strlist_add(errors, "%s: cannot write the file: %s", path,
	    strerror(saved));
	free(tmp);
	free(text);
	free(target);
	return -1;
}
