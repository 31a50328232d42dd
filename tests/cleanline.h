/*
 * cleanline.h: the tests' reference check of what chatd may relay: valid
 * UTF-8 (no overlong forms, surrogates or code points past U+10FFFF) with
 * no control character but TAB: no C0, DEL or C1.  Written apart from
 * proto.c's sanitizer on purpose, so the two check each other.
 */
#ifndef CHATD_TESTS_CLEANLINE_H
#define CHATD_TESTS_CLEANLINE_H

#include <stddef.h>

static inline int
clean_utf8(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;

    for (size_t i = 0; i < n;) {
        if (s[i] < 0x80) {
            if ((s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7F)
                return 0;
            i++;
            continue;
        }
        size_t k = s[i] >= 0xF0 ? 4 : s[i] >= 0xE0 ? 3 : 2;
        if (s[i] < 0xC2 || s[i] > 0xF4 || i + k > n)
            return 0;
        if (s[i] == 0xC2 && s[i + 1] <= 0x9F)
            return 0;
        if ((s[i] == 0xE0 && s[i + 1] < 0xA0) ||
            (s[i] == 0xED && s[i + 1] > 0x9F) ||
            (s[i] == 0xF0 && s[i + 1] < 0x90) ||
            (s[i] == 0xF4 && s[i + 1] > 0x8F))
            return 0;
        for (size_t j = 1; j < k; j++)
            if ((s[i + j] & 0xC0) != 0x80)
                return 0;
        i += k;
    }
    return 1;
}

#endif
