/* SPDX-License-Identifier: MIT */
/* Every standard-profile golden body passes the project's schema check,
 * ../shared/schemas/validate-body (RFC 3863/4479/4480 and RFC 4235 schemas via
 * xmllint). The folder comes from -Dschemas_dir; without it (or without
 * xmllint) the test is skipped with exit code 77. test-bodies proves that the
 * generators produce exactly these files. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SKIP 77

static int is_xml(const char *name)
{
	size_t n = strlen(name);
	return n > 4 && strcmp(name + n - 4, ".xml") == 0;
}

int main(void)
{
	char dir[1024], tool[1200], gold[1024];
	struct stat st;
	DIR *d;
	struct dirent *e;
	char **argv;
	size_t argc = 0, cap = 16;
	pid_t pid;
	int status;

	if (SCHEMAS_DIR[0] == '\0') {
		printf("schemas_dir option is empty: skipped\n");
		return SKIP;
	}
	/* a relative option value is relative to the source root */
	if (SCHEMAS_DIR[0] == '/')
		snprintf(dir, sizeof(dir), "%s", SCHEMAS_DIR);
	else
		snprintf(dir, sizeof(dir), "%s/%s", SOURCE_ROOT, SCHEMAS_DIR);
	snprintf(tool, sizeof(tool), "%s/validate-body", dir);
	if (stat(tool, &st) != 0 || access(tool, X_OK) != 0) {
		printf("%s not found: skipped\n", tool);
		return SKIP;
	}
	if (system("xmllint --version >/dev/null 2>&1") != 0) {
		printf("xmllint not installed: skipped\n");
		return SKIP;
	}
	snprintf(gold, sizeof(gold), "%s/standard", GOLDEN_DIR);
	d = opendir(gold);
	if (!d) {
		perror(gold);
		return 1;
	}
	argv = calloc(cap, sizeof(*argv));
	argv[argc++] = tool;
	while ((e = readdir(d)) != NULL) {
		if (!is_xml(e->d_name))
			continue;
		if (argc + 2 >= cap) {
			cap *= 2;
			argv = realloc(argv, cap * sizeof(*argv));
		}
		argv[argc] = malloc(strlen(gold) + strlen(e->d_name) + 2);
		sprintf(argv[argc++], "%s/%s", gold, e->d_name);
	}
	closedir(d);
	argv[argc] = NULL;
	if (argc < 50) {
		fprintf(stderr, "only %zu golden files in %s\n", argc - 1, gold);
		return 1;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execv(tool, argv);
		perror(tool);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0) {
		perror("fork");
		return 1;
	}
	for (size_t i = 1; i < argc; i++)
		free(argv[i]);
	free(argv);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
