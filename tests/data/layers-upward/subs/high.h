int sippres__high(void);
