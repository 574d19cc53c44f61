/*
 * tests/unit/core/test_service.c - the service registry: versions, the
 * error line naming both sides, ownership, revocation with the provider.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "core.h"
#include "log.h"
#include "service.h"

struct demo_v2 {
	uint32_t size;
	int (*twice)(int);
	int (*thrice)(int); /* added in v2 */
};

static int twice(int x)
{
	return 2 * x;
}
static int thrice(int x)
{
	return 3 * x;
}

static const struct demo_v2 demo = {sizeof(demo), twice, thrice};

/* Everything logged to stderr while f runs. */
static char *capture(void (*f)(void *), void *arg)
{
	static char buf[8192];
	char path[] = "/tmp/ucsd-test-XXXXXX";
	int fd = mkstemp(path), saved = dup(2);
	ssize_t n;

	fflush(stderr);
	dup2(fd, 2);
	f(arg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	close(fd);
	unlink(path);
	return buf;
}

static struct ucs_plugin provider = {.name = "provider"}, consumer = {.name = "consumer"};
static const void *got;

static void get_v3(void *arg)
{
	(void)arg;
	got = core_service_api.get(&consumer, "demo", 3);
}

static void get_missing(void *arg)
{
	(void)arg;
	got = core_service_api.get(&consumer, "absent", 1);
}

int main(void)
{
	const struct demo_v2 *d;
	uint32_t version = 0;
	char *log;

	core_log_init();
	core_service_init();
	core_ledger_init(&provider);
	core_ledger_init(&consumer);

	CHECK_INT(core_service_api.provide(&provider, "demo", 2, &demo), ==, 0);
	CHECK_INT(core_service_api.provide(&consumer, "demo", 1, &demo), ==, -EEXIST);
	CHECK_INT(core_service_api.provide(&provider, "", 1, &demo), ==, -EINVAL);

	d = core_service_api.get(&consumer, "demo", 1);
	CHECK(d == &demo);
	CHECK_INT(d->twice(4), ==, 8);
	CHECK(UCS_HAS_SLOT(d, struct demo_v2, thrice));
	CHECK_INT(d->thrice(4), ==, 12);
	CHECK(core_service_api.find("demo", 2, &version) == &demo);
	CHECK_INT(version, ==, 2);
	CHECK(core_service_api.find("demo", 3, NULL) == NULL);

	/* too old: NULL, and one line naming consumer, service and provider */
	log = capture(get_v3, NULL);
	CHECK(got == NULL);
	CHECK_CONTAINS(log, "[consumer] needs service 'demo' v3 or newer, but plugin 'provider' "
			    "provides v2");
	log = capture(get_missing, NULL);
	CHECK(got == NULL);
	CHECK_CONTAINS(log, "[consumer] needs service 'absent' v1 or newer, and no loaded plugin "
			    "provides it");

	/* only the owner may withdraw */
	CHECK_INT(core_service_api.withdraw(&consumer, "demo"), ==, -EPERM);
	/* the service goes with its provider */
	CHECK_INT(core_ledger_revoke_all(&provider), ==, 1);
	CHECK(core_service_api.find("demo", 1, NULL) == NULL);
	CHECK_INT(core_service_api.provide(&consumer, "demo", 1, &demo), ==, 0);
	CHECK_INT(core_service_api.withdraw(&consumer, "demo"), ==, 0);
	CHECK_INT(consumer.ledger_count, ==, 0);
	core_service_shutdown();
	return check_report();
}
